// Counsellor dashboard: live queue and transcript by short polling, canned replies.
// Everything that comes from the server is put in the page with textContent, never as HTML.
(function () {
  "use strict";

  var LOGIN = "/tableau/connexion";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // The same `data-test` hooks as the server's rows (tests read the pages by them).
  function hook(node, name) {
    node.setAttribute("data-test", name);
    return node;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function getJSON(url) {
    return fetch(url, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      if (response.status === 401) {
        window.location.assign(LOGIN);
        throw new Error("session");
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  // Calls `tick` every `seconds` (not while the tab is hidden, never two at once).
  function poll(seconds, tick, onError) {
    var busy = false;
    function run() {
      if (busy || document.hidden) return;
      busy = true;
      tick()
        .then(function () { onError(null); })
        .catch(function (error) { onError(error); })
        .then(function () { busy = false; });
    }
    window.setInterval(run, Math.max(1, seconds) * 1000);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) run();
    });
  }

  function liveStatus(node) {
    return function (error) {
      if (!node) return;
      node.textContent = error ? "· connexion perdue, nouvel essai…" : "";
    };
  }

  // Queue ---------------------------------------------------------------------------------
  function cell(label, content) {
    var td = el("td");
    if (label) td.setAttribute("data-label", label);
    if (content instanceof Node) td.appendChild(content);
    else td.textContent = content;
    return td;
  }

  // The urgency badge, the alert's tier, "mineur·e" and the message that raised the alert.
  function urgencyCell(ticket) {
    var box = document.createDocumentFragment();
    box.appendChild(ticket.crisis
      ? el("span", "badge crisis", "Urgence · " + ticket.crisis_label)
      : el("span", "badge", "normal"));
    if (ticket.crisis && ticket.alert_tier) {
      var tier = el("span", "badge tier", "niveau " + ticket.alert_tier);
      tier.title = ticket.alert_why;
      box.appendChild(document.createTextNode(" "));
      box.appendChild(tier);
    }
    if (ticket.minor) {
      box.appendChild(document.createTextNode(" "));
      box.appendChild(hook(el("span", "badge minor", "mineur·e"), "minor"));
    }
    if (ticket.simulated) {
      box.appendChild(document.createTextNode(" "));
      box.appendChild(hook(el("span", "badge simulated", "simulation"), "simulated"));
    }
    if (ticket.writer) {
      box.appendChild(document.createTextNode(" "));
      box.appendChild(hook(el("span", "badge writer", "écrit par " + ticket.writer), "writer"));
    }
    if (ticket.alert_text) {
      var trigger = el("div", "trigger", "« " + ticket.alert_text + " »");
      trigger.title = ticket.alert_why;
      box.appendChild(trigger);
    }
    return box;
  }

  // The needs, and the first words of the request (only for a ticket the counsellor may see).
  function requestCell(ticket) {
    var box = document.createDocumentFragment();
    box.appendChild(el("div", "needs", ticket.needs.length ? ticket.needs.join(", ") : "—"));
    if (ticket.request) {
      box.appendChild(hook(el("div", "request", "« " + ticket.request + " »"), "request"));
    } else if (ticket.request_hidden) {
      var hidden = hook(el("div", "request hint", "(demande réservée à l'équipe)"), "request-hidden");
      hidden.title = "Réservé à l'équipe du ticket et à qui le suit";
      box.appendChild(hidden);
    }
    return box;
  }

  function queueRow(ticket) {
    var tr = el("tr", "ticket-row" + (ticket.crisis ? " crisis" : "") + (ticket.mine ? " mine" : ""));
    hook(tr, "queue-row");
    tr.setAttribute("data-ticket", String(ticket.id));
    tr.appendChild(cell("Urgence", urgencyCell(ticket)));
    var link = el("a", "ref", ticket.reference);
    link.href = ticket.url;
    var reference = document.createDocumentFragment();
    reference.appendChild(link);
    reference.appendChild(document.createTextNode(" "));
    // Where the young person writes (Telegram, Chat web): the label comes from the server.
    reference.appendChild(
      hook(el("span", "badge channel channel-" + ticket.channel, ticket.channel_label), "channel"));
    tr.appendChild(cell("Ticket", reference));
    var sla = el("span", "sla sla-" + ticket.sla, ticket.waiting_label);
    sla.title = ticket.waiting_title;
    hook(sla, "sla");
    tr.appendChild(cell("Attente", sla));
    tr.appendChild(cell("Statut", ticket.status_label));
    tr.appendChild(cell("Demande", requestCell(ticket)));
    tr.appendChild(hook(cell("Âge", ticket.age), "age"));
    tr.appendChild(hook(cell("Lieu", ticket.location), "location"));
    tr.appendChild(cell("Équipe", ticket.team_name));
    tr.appendChild(cell("Territoire", ticket.territory || "—"));
    tr.appendChild(cell("Suivi par", ticket.assignee || "—"));
    var action = el("td", "actions");
    if (ticket.can_claim) {
      var form = el("form");
      form.method = "post";
      form.action = ticket.claim_url;
      var hidden = el("input");
      hidden.type = "hidden";
      hidden.name = "csrf_token";
      hidden.value = csrfToken();
      form.appendChild(hidden);
      var button = el("button", "claim", "Je prends");
      button.type = "submit";
      form.appendChild(button);
      action.appendChild(form);
    } else {
      var open = el("a", "button secondary", "Ouvrir");
      open.href = ticket.url;
      action.appendChild(open);
    }
    tr.appendChild(action);
    return tr;
  }

  function setupQueue() {
    var table = document.getElementById("queue");
    if (!table) return;
    var body = document.getElementById("queue-body");
    var count = document.getElementById("queue-count");
    var refreshed = document.getElementById("refreshed");
    var filters = document.getElementById("filters");
    if (filters) {
      filters.addEventListener("change", function () { filters.submit(); });
    }
    poll(Number(table.getAttribute("data-poll")) || 5, function () {
      return getJSON(table.getAttribute("data-feed")).then(function (data) {
        var rows = document.createDocumentFragment();
        data.tickets.forEach(function (ticket) { rows.appendChild(queueRow(ticket)); });
        if (!data.tickets.length) {
          var empty = el("tr", "empty");
          var td = el("td", null, "Aucun ticket ici pour l'instant.");
          td.colSpan = 11;
          empty.appendChild(td);
          rows.appendChild(empty);
        }
        body.replaceChildren(rows);
        if (count) count.textContent = String(data.count);
        if (refreshed) refreshed.textContent = data.refreshed;
      });
    }, liveStatus(document.getElementById("live-status")));
  }

  // Ticket --------------------------------------------------------------------------------
  function transcriptLine(message) {
    var line = el("div", "line from-" + message.origin + (message.in_ticket ? "" : " before"));
    line.setAttribute("data-id", String(message.id));
    line.appendChild(el("div", "who", message.who + " · " + message.at));
    line.appendChild(el("div", "text", message.text));
    return line;
  }

  function setupTicket() {
    var transcript = document.getElementById("transcript");
    if (!transcript) return;
    transcript.scrollTop = transcript.scrollHeight;
    var after = Number(transcript.getAttribute("data-after")) || 0;
    var status = transcript.getAttribute("data-status");
    var assignee = transcript.getAttribute("data-assignee");
    var changed = document.getElementById("ticket-changed");
    var changedText = document.getElementById("ticket-changed-text");
    var errors = liveStatus(null);
    poll(Number(transcript.getAttribute("data-poll")) || 5, function () {
      return getJSON(transcript.getAttribute("data-feed") + "?after=" + after).then(function (data) {
        var atBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
        var empty = document.getElementById("transcript-empty");
        data.messages.forEach(function (message) {
          if (message.id <= after) return;
          if (empty) { empty.remove(); empty = null; }
          transcript.appendChild(transcriptLine(message));
          after = message.id;
        });
        if (atBottom) transcript.scrollTop = transcript.scrollHeight;
        if (changed && (data.status !== status || data.assignee !== assignee)) {
          changedText.textContent = "Le ticket a changé : " + data.status_label +
            (data.assignee ? " (suivi par " + data.assignee + ")" : "") + ".";
          changed.hidden = false;
        }
      });
    }, errors);

    var canned = document.getElementById("canned");
    var reply = document.getElementById("reply-text");
    if (canned && reply) {
      canned.addEventListener("change", function () {
        if (!canned.value) return;
        reply.value = canned.value;
        canned.selectedIndex = 0;
        reply.focus();
      });
    }
  }

  setupQueue();
  setupTicket();
})();
