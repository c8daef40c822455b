// Web simulator: posts to /simulateur/api/messages, renders replies and buttons as text only.
// What a counsellor (or the hand-off desk) sends outside a reply is polled every 3 s from
// /simulateur/api/updates and shown as bot bubbles, the counsellor's ones with their name.
(function () {
  "use strict";
  const POLL_MS = 3000;
  const chat = document.getElementById("chat");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  let cursor = null; // last hand-off message id seen; null until the server gave one
  const shown = new Set(); // hand-off message ids already shown as replies (helplines)
  let sending = null; // the message being posted, if any
  let polling = null; // the poll in flight, if any

  function bubble(kind, text) {
    const div = document.createElement("div");
    div.className = "msg " + kind;
    div.textContent = text; // never innerHTML: messages are untrusted
    chat.appendChild(div);
    chat.scrollTop = chat.scrollHeight;
    return div;
  }

  function render(replies) {
    for (const reply of replies) {
      const div = bubble("bot", reply.text);
      if (reply.buttons && reply.buttons.length) {
        const row = document.createElement("div");
        row.className = "buttons";
        for (const b of reply.buttons) {
          const btn = document.createElement("button");
          btn.type = "button";
          btn.className = "quick";
          btn.textContent = b.title;
          btn.addEventListener("click", function () {
            row.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
            send({ payload: b.payload, title: b.title }, b.title);
          });
          row.appendChild(btn);
        }
        div.appendChild(row);
      }
    }
  }

  function relayed(message) {
    if (message.origin === "counsellor") {
      const div = document.createElement("div");
      div.className = "msg bot relay counsellor";
      const from = document.createElement("strong");
      from.className = "from";
      from.textContent = (message.label || message.from || "Conseiller·e") + " :";
      div.appendChild(from);
      div.appendChild(document.createElement("br"));
      div.appendChild(document.createTextNode(message.text)); // text only, never HTML
      chat.appendChild(div);
      chat.scrollTop = chat.scrollHeight;
    } else {
      bubble("bot relay", message.text);
    }
  }

  async function poll() {
    if (sending || polling) return;
    polling = (async function () {
      try {
        const query = cursor === null ? "" : "?after=" + encodeURIComponent(cursor);
        const res = await fetch("/simulateur/api/updates" + query, {
          credentials: "same-origin",
          cache: "no-store",
        });
        if (!res.ok) return;
        const data = await res.json();
        for (const message of data.messages) {
          if (!shown.delete(message.id)) relayed(message);
        }
        cursor = data.last;
      } catch (e) {
        // The server may be restarting: try again at the next tick.
      }
    })();
    await polling;
    polling = null;
  }

  async function post(body, label) {
    if (polling) await polling; // a poll must not show what this reply is about to show
    bubble("me", label);
    const pending = bubble("bot typing", "…");
    try {
      const res = await fetch("/simulateur/api/messages", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify(body),
      });
      pending.remove();
      if (res.status === 422) { bubble("error", "Message vide ou trop long."); return; }
      if (!res.ok) { bubble("error", "Erreur " + res.status + " : recharge la page."); return; }
      const data = await res.json();
      for (const id of data.shown || []) shown.add(id);
      render(data.replies);
    } catch (e) {
      pending.remove();
      bubble("error", "Le serveur ne répond pas.");
    }
  }

  async function send(body, label) {
    const previous = sending;
    sending = (async function () {
      if (previous) await previous;
      await post(body, label);
    })();
    const mine = sending;
    await mine;
    if (sending === mine) sending = null;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({ text: text }, text);
  });

  document.getElementById("reset").addEventListener("click", async function () {
    await fetch("/simulateur/api/reset", { method: "POST", credentials: "same-origin" });
    chat.textContent = "";
    cursor = null; // a new young person: start from their own (empty) history
    shown.clear();
    input.focus();
  });
  input.focus();
  poll();
  setInterval(poll, POLL_MS);
})();
