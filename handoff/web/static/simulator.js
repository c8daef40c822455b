// Web simulator: posts to /simulateur/api/messages, renders replies and buttons as text only.
(function () {
  "use strict";
  const chat = document.getElementById("chat");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");

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

  async function send(body, shown) {
    bubble("me", shown);
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
      render(data.replies);
    } catch (e) {
      pending.remove();
      bubble("error", "Le serveur ne répond pas.");
    }
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
    input.focus();
  });
  input.focus();
})();
