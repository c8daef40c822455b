// Web simulator: posts to /simulateur/api/messages, renders replies and buttons as text only.
// What a counsellor (or the hand-off desk) sends outside a reply is polled every 3 s from
// /simulateur/api/updates and shown as bot bubbles, the counsellor's ones with their name.
// Manager mode (only on the page of a logged-in manager; the API checks it again): each
// message also asks what the engine understood, shown under the replies, as text only.
(function () {
  "use strict";
  const POLL_MS = 3000;
  const MODE_KEY = "maraude.simulator.managerMode";
  const chat = document.getElementById("chat");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const managerBox = document.getElementById("manager-box");
  const managerMode = document.getElementById("manager-mode");
  if (managerMode) {
    managerMode.checked = sessionStorage.getItem(MODE_KEY) === "1";
    managerMode.addEventListener("change", function () {
      sessionStorage.setItem(MODE_KEY, managerMode.checked ? "1" : "0");
    });
  }

  // Staff mode: every POST carries the dashboard session's CSRF token (the page has it).
  function csrfHeaders(headers) {
    if (chat.dataset.csrf) headers["X-CSRF-Token"] = chat.dataset.csrf;
    return headers;
  }

  function inspecting() {
    return Boolean(managerMode && managerMode.checked);
  }

  function row(list, label, value, className) {
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = value; // never innerHTML: what the young person typed is untrusted
    if (className) dd.className = className;
    list.appendChild(dt);
    list.appendChild(dd);
    return dd;
  }

  function entityText(entity) {
    let text = String(entity.entity) + " = " + JSON.stringify(entity.value);
    if (entity.extractor) text += " (" + entity.extractor + ")";
    return text;
  }

  function inspection(turn) {
    const box = document.createElement("div");
    box.className = "inspect";
    const list = document.createElement("dl");
    box.appendChild(list);
    if (!turn) {
      row(list, "Analyse", "aucune : message transmis au conseiller·e, ou moteur injoignable");
    } else {
      row(list, "Texte normalisé", turn.normalised == null ? "—" : turn.normalised)
        .classList.add("normalised");
      const confidence = turn.confidence == null ? "?" : turn.confidence.toFixed(2);
      const low = turn.misunderstood;  // the app's threshold (bot/engine_client.py)
      row(list, "Intention", (turn.intent || "—") + " (" + confidence + ")",
        low ? "intent low" : "intent");
      row(list, "Entités",
        turn.entities && turn.entities.length ? turn.entities.map(entityText).join(" ; ") : "aucune",
        "entities");
      row(list, "Garde-fou crise", turn.crisis_guard ? "oui : intention forcée" : "non",
        turn.crisis_guard ? "guard crisis" : "guard");
      row(list, "Actions",
        turn.actions && turn.actions.length ? turn.actions.join(" → ") : "aucune", "actions");
      if (turn.model) row(list, "Modèle", turn.model, "model");
    }
    chat.appendChild(box);
    chat.scrollTop = chat.scrollHeight;
  }
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
      if (reply.documents && reply.documents.length) div.appendChild(downloads(reply.documents));
    }
  }

  // The files of /mesdonnees (everything kept about this young person): download links.
  function downloads(documents) {
    const row = document.createElement("div");
    row.className = "buttons documents";
    for (const doc of documents) {
      const link = document.createElement("a");
      link.className = "quick document";
      link.download = doc.filename;
      link.href = URL.createObjectURL(new Blob([doc.content], { type: doc.mime_type }));
      link.textContent = "Télécharger " + doc.filename; // text only, never HTML
      row.appendChild(link);
    }
    return row;
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
    const headers = csrfHeaders({ "Content-Type": "application/json" });
    if (inspecting()) {
      body = Object.assign({}, body, { inspect: true });
      headers["X-CSRF-Token"] = managerBox.dataset.csrf;
    }
    try {
      const res = await fetch("/simulateur/api/messages", {
        method: "POST",
        headers: headers,
        credentials: "same-origin",
        body: JSON.stringify(body),
      });
      pending.remove();
      if (res.status === 422) { bubble("error", "Message vide ou trop long."); return; }
      if (res.status === 401) {
        bubble("error", "Connexion au tableau de bord requise : reconnecte-toi puis recharge la page.");
        return;
      }
      if (res.status === 403 && body.inspect) {
        bubble("error", "Mode responsable refusé : reconnecte-toi au tableau de bord.");
        return;
      }
      if (!res.ok) { bubble("error", "Erreur " + res.status + " : recharge la page."); return; }
      const data = await res.json();
      for (const id of data.shown || []) shown.add(id);
      render(data.replies);
      if (body.inspect) inspection(data.turn);
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

  const myData = document.getElementById("my-data");
  if (myData) {
    myData.addEventListener("click", function () {
      send({ text: "/mesdonnees" }, "/mesdonnees");
    });
  }

  document.getElementById("reset").addEventListener("click", async function () {
    const res = await fetch("/simulateur/api/reset", {
      method: "POST",
      headers: csrfHeaders({}),
      credentials: "same-origin",
    });
    if (!res.ok) {
      bubble("error", res.status === 429
        ? "Trop de nouvelles conversations : réessaie plus tard."
        : "Erreur " + res.status + " : recharge la page.");
      return;
    }
    chat.textContent = "";
    cursor = null; // a new young person: start from their own (empty) history
    shown.clear();
    input.focus();
  });
  input.focus();
  poll();
  setInterval(poll, POLL_MS);
})();
