// The young person's chat (/chat, and the widget's frame /chat?embed=1).
// - The conversation's token goes in the X-Maraude-Chat header, never in a URL. No token:
//   POST /chat/api/session, then /start. On /chat it lives in localStorage ("maraude-chat").
// - In the widget the frame is of another site than the page around it, and browsers that
//   block or partition third-party storage lose the frame's storage: the loader keeps the
//   token in the host page's own storage. The frame asks its parent ("maraude:token?",
//   answered by "maraude:token" within ASK_MS), tells it a new token ("maraude:store") and
//   to forget it ("maraude:forget": quick exit, /oubli). No answer (an older loader): the
//   frame's own storage, else memory (the conversation lasts as long as the page).
// - Live updates: /chat/api/stream read with fetch (EventSource cannot send a header),
//   reconnecting with the last cursor; after two failures, polling /chat/api/updates.
// - Everything a message says is shown as text, never as HTML.
// - "Quitter vite" and Escape: the chat's storage and the conversation on screen are wiped,
//   then the page leaves for a neutral site (in the widget, the host page does it).
(function () {
  "use strict";
  const KEY = "maraude-chat";
  const TOKEN_RE = /^[A-Za-z0-9_-]{22,64}$/; // the shape of a token (checked by the server)
  const ASK_MS = 1000; // how long the frame waits for the loader's answer
  const API = "/chat/api/";
  const POLL_MS = 5000;
  const RETRY_MS = 3000;
  const body = document.body;
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const sendButton = document.getElementById("send");
  const typing = document.getElementById("typing");
  const status = document.getElementById("status");
  const notifyForm = document.getElementById("notify");
  const notifyEmail = document.getElementById("notify-email");
  const notifyOn = document.getElementById("notify-on");
  const embedded = body.dataset.embed === "1";
  const exitUrl = body.dataset.exit || "https://www.google.fr/";
  if (/^#[0-9a-fA-F]{6}$/.test(body.dataset.colour || "")) {
    document.documentElement.style.setProperty("--accent", body.dataset.colour);
  }

  // Storage: the token and whether the e-mail was offered. Partitioned, or blocked, in some
  // browsers' frames: then the conversation lasts as long as the page. When the loader keeps
  // the token (`parentOrigin` set), the frame keeps the rest in memory only.
  let memory = {};
  let parentOrigin = null; // the origin of the host page whose loader keeps the token
  function load() {
    if (parentOrigin) return memory;
    try {
      const raw = window.localStorage.getItem(KEY);
      return raw ? JSON.parse(raw) : {};
    } catch (e) {
      return memory;
    }
  }
  function save(data) {
    memory = data;
    if (parentOrigin) return;
    try { window.localStorage.setItem(KEY, JSON.stringify(data)); } catch (e) { /* memory */ }
  }
  function keepToken(value) {
    const before = load();
    save(before.token === value ? before : { token: value });
    if (parentOrigin) window.parent.postMessage({ type: "maraude:store", token: value }, parentOrigin);
  }
  function wipeStorage() {
    memory = {};
    if (embedded && window.parent !== window) { // the loader's copy first
      window.parent.postMessage({ type: "maraude:forget" }, parentOrigin || "*"); // no data
    }
    for (const store of ["localStorage", "sessionStorage"]) {
      try {
        const area = window[store];
        for (let i = area.length - 1; i >= 0; i--) {
          const name = area.key(i);
          if (name && name.indexOf(KEY) === 0) area.removeItem(name);
        }
      } catch (e) { /* no storage */ }
    }
  }

  // The loader's answer: its token, null (none kept), or undefined (no answer in time).
  function askParent() {
    if (!embedded || window.parent === window) return Promise.resolve(undefined);
    return new Promise(function (resolve) {
      function done(value) {
        clearTimeout(timer);
        window.removeEventListener("message", answer);
        resolve(value);
      }
      function answer(event) {
        if (event.source !== window.parent || !event.data || event.data.type !== "maraude:token") return;
        const given = event.data.token;
        parentOrigin = event.origin;
        done(typeof given === "string" && TOKEN_RE.test(given) ? given : null);
      }
      const timer = setTimeout(function () { done(undefined); }, ASK_MS);
      window.addEventListener("message", answer);
      window.parent.postMessage({ type: "maraude:token?" }, "*"); // a request without data
    });
  }

  let token = null;
  let cursor = 0;
  let state = null;
  let gone = false; // quick exit: nothing more happens on this page
  const shown = new Set(); // outbox ids a reply already showed
  let waiting = 0; // answers awaited
  let held = []; // live messages that arrived while an answer was awaited
  let live = null; // the AbortController of the live loop
  let chain = Promise.resolve(); // one message at a time

  // Rendering --------------------------------------------------------------------------
  function scroll() {
    const box = log.parentElement;
    box.scrollTop = box.scrollHeight;
  }
  // Text only (line breaks kept by the style sheet); http(s) addresses become links (a help
  // line's site, the privacy notice, a map): built as nodes, never parsed as HTML.
  const URL_RE = /https?:\/\/[^\s<>"']+/g;
  function fill(element, text) {
    let last = 0;
    text.replace(URL_RE, function (found, at) {
      const url = found.replace(/[.,;:!?)»]+$/, "");
      element.appendChild(document.createTextNode(text.slice(last, at)));
      const link = document.createElement("a");
      link.href = url;
      link.textContent = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      element.appendChild(link);
      last = at + url.length;
      return found;
    });
    element.appendChild(document.createTextNode(text.slice(last)));
  }
  function bubble(kind, text) {
    const div = document.createElement("div");
    div.className = "msg " + kind;
    const span = document.createElement("span");
    span.className = "text";
    fill(span, text);
    div.appendChild(span);
    log.appendChild(div);
    scroll();
    return div;
  }
  function notice(text, kind) {
    return bubble(kind || "notice", text);
  }
  // A counsellor's message: set apart, with who wrote it (the desk signs the text itself:
  // "Léa (conseiller·e) :"; a name is added only where the text lacks it).
  function showReply(reply, origin, from) {
    const text = reply.text || "";
    let div;
    if (origin === "counsellor") {
      div = document.createElement("div");
      div.className = "msg counsellor";
      const tag = document.createElement("span");
      tag.className = "from";
      tag.textContent = from && text.indexOf(from) !== 0
        ? from + " (conseiller·e)" : "Un·e conseiller·e te répond";
      const span = document.createElement("span");
      span.className = "text";
      fill(span, text);
      div.appendChild(tag);
      div.appendChild(span);
      log.appendChild(div);
    } else {
      div = bubble("bot", text);
    }
    if (reply.buttons && reply.buttons.length) div.appendChild(keyboard(reply.buttons));
    if (reply.documents && reply.documents.length) div.appendChild(downloads(reply.documents));
    scroll();
    return div;
  }
  function keyboard(buttons) {
    const row = document.createElement("div");
    row.className = "buttons";
    for (const b of buttons) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "quick";
      button.textContent = b.title;
      button.addEventListener("click", function () {
        row.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
        button.classList.add("chosen");
        input.focus();
        send({ payload: b.payload, title: b.title }, b.title);
      });
      row.appendChild(button);
    }
    return row;
  }
  function downloads(documents) {
    const row = document.createElement("div");
    row.className = "buttons";
    for (const doc of documents) {
      const link = document.createElement("a");
      link.className = "document";
      link.download = doc.filename;
      link.href = URL.createObjectURL(new Blob([doc.content], { type: doc.mime_type || "text/plain" }));
      link.textContent = "Télécharger " + doc.filename;
      row.appendChild(link);
    }
    return row;
  }
  function setStatus(text) {
    status.textContent = text || "";
  }
  function setTyping(on) {
    typing.hidden = !on;
    if (on) scroll();
  }

  // The API ----------------------------------------------------------------------------
  class Failure extends Error {
    constructor(status, detail) {
      super(detail || "HTTP " + status);
      this.status = status;
      this.detail = detail;
    }
  }
  async function call(method, path, data, signal) {
    const headers = { Accept: "application/json" };
    if (token) headers["X-Maraude-Chat"] = token;
    if (data !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(API + path, {
      method: method,
      headers: headers,
      body: data === undefined ? undefined : JSON.stringify(data),
      cache: "no-store",
      credentials: "omit",
      signal: signal,
    });
    if (!res.ok) {
      let detail = null;
      try {
        const json = await res.json();
        if (typeof json.detail === "string") detail = json.detail;
      } catch (e) { /* not JSON */ }
      throw new Failure(res.status, detail);
    }
    return res.json();
  }
  function explain(error) {
    if (!(error instanceof Failure)) return "Pas de connexion, on réessaie…";
    if (error.status === 429) return error.detail || "Trop de messages d'un coup : attends une minute et réessaie.";
    if (error.status === 400) return error.detail || "Conversation introuvable : recharge la page.";
    if (error.status === 422) return "Message vide ou trop long (4096 caractères au plus).";
    if (error.status >= 500) return "Le service ne répond pas pour l'instant, réessaie dans un moment.";
    return error.detail || "Ça n'a pas marché (erreur " + error.status + ").";
  }
  const pause = function (ms) { return new Promise(function (r) { setTimeout(r, ms); }); };

  // A network failure is retried (three times), anything else is said once.
  async function attempt(fn) {
    for (let tries = 0; ; tries++) {
      try {
        const result = await fn();
        setStatus("");
        return result;
      } catch (error) {
        if (gone) throw error;
        setStatus(explain(error));
        if (error instanceof Failure || tries >= 3) throw error;
        await pause(RETRY_MS * (tries + 1));
      }
    }
  }

  async function ensureToken() {
    if (token) return;
    const data = await attempt(function () { return call("POST", "session"); });
    token = data.token;
    keepToken(token);
  }

  // An answer to the page's own message: its replies, then what the stream held meanwhile.
  function answered(data) {
    for (const id of data.shown || []) shown.add(id);
    if (data.forgotten) { forgotten(); return; }
    for (const reply of data.replies || []) showReply(reply, "bot", null);
    if (data.state) setState(data.state);
  }
  async function exchange(path, payload) {
    waiting++;
    setTyping(true);
    try {
      await ensureToken();
      const data = await attempt(function () { return call("POST", path, payload); });
      answered(data);
      return true;
    } catch (error) {
      if (error instanceof Failure && error.status === 400 && !gone) dropToken();
      if (!(error instanceof Failure) && !gone) setStatus("Message non envoyé : vérifie ta connexion et réessaie.");
      return false;
    } finally {
      waiting--;
      setTyping(waiting > 0);
      if (waiting === 0) flush();
      if (!gone && token && !live) startLive();
    }
  }
  function send(payload, label) {
    bubble("me", label);
    chain = chain.then(function () { return gone ? false : exchange("messages", payload); });
    return chain;
  }
  function dropToken() {
    // A token the server no longer takes (a new secret key): the next message starts over.
    token = null;
    stopLive();
    wipeStorage();
  }

  // Live updates -----------------------------------------------------------------------
  function received(data) {
    if (typeof data.cursor === "number" && data.cursor > cursor) cursor = data.cursor;
    held = held.concat(data.messages || []);
    if (waiting === 0) flush();
  }
  function flush() {
    const items = held;
    held = [];
    for (const m of items) {
      if (shown.delete(m.id)) continue;
      showReply(m, m.origin, m.from);
    }
  }
  function stopLive() {
    if (live) live.abort();
    live = null;
  }
  function startLive() {
    stopLive();
    const controller = new AbortController();
    live = controller;
    liveLoop(controller.signal).catch(function () { /* stopped */ });
  }
  async function liveLoop(signal) {
    let failures = 0;
    while (!signal.aborted && failures < 2) {
      const began = Date.now();
      try {
        await streamOnce(signal);
        if (Date.now() - began < 2000) failures++; // ended at once: as good as failed
        else failures = 0;
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof Failure && error.status === 400) { dropToken(); return; }
        failures++;
      }
      if (!signal.aborted) await pause(failures ? RETRY_MS : 200);
    }
    while (!signal.aborted) { // the fallback: polling
      try {
        const data = await call("GET", "updates?after=" + encodeURIComponent(cursor), undefined, signal);
        received(data);
        setStatus("");
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof Failure && error.status === 400) { dropToken(); return; }
        if (!(error instanceof Failure)) setStatus("Pas de connexion, on réessaie…");
      }
      await pause(POLL_MS);
    }
  }
  async function streamOnce(signal) {
    const res = await fetch(API + "stream?after=" + encodeURIComponent(cursor), {
      headers: { "X-Maraude-Chat": token, Accept: "text/event-stream" },
      cache: "no-store",
      credentials: "omit",
      signal: signal,
    });
    if (!res.ok || !res.body) throw new Failure(res.status, null);
    setStatus("");
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) return;
      buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        event(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  }
  function event(block) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.indexOf("event:") === 0) name = line.slice(6).trim();
      else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (name === "messages" && data.length) received(JSON.parse(data.join("\n")));
  }

  // State: the optional e-mail notice --------------------------------------------------
  function setState(next) {
    state = next;
    notifyOn.hidden = !(state.notify && state.email);
    if (state.email) {
      notifyForm.hidden = true;
      return;
    }
    const stored = load();
    if (state.ticket && state.notify && !stored.offered && notifyForm.hidden) {
      notifyForm.hidden = false; // offered once per conversation (per page with the loader)
      save(Object.assign({}, stored, { token: token, offered: true }));
    }
  }
  notifyForm.addEventListener("submit", async function (event) {
    event.preventDefault();
    const email = notifyEmail.value.trim();
    if (!email) { notifyForm.hidden = true; return; }
    try {
      const data = await call("POST", "contact", { email: email });
      notifyForm.hidden = true;
      notifyEmail.value = "";
      setState(data.state);
      setStatus("");
      notice("C'est noté : tu recevras juste « tu as une réponse » par mail.");
    } catch (error) {
      setStatus(error instanceof Failure && error.status === 422
        ? "Cette adresse mail ne semble pas valide." : explain(error));
    }
  });
  document.getElementById("notify-skip").addEventListener("click", function () {
    notifyForm.hidden = true;
    input.focus();
  });
  document.getElementById("notify-off").addEventListener("click", async function () {
    try {
      const data = await call("DELETE", "contact");
      setState(data.state);
      notice("C'est fait : on ne te préviendra plus par mail.");
    } catch (error) {
      setStatus(explain(error));
    }
  });

  // /oubli went through: nothing of the conversation stays in this browser.
  function forgotten() {
    stopLive();
    wipeStorage();
    token = null;
    cursor = 0;
    shown.clear();
    held = [];
    log.textContent = "";
    notifyForm.hidden = true;
    notifyOn.hidden = true;
    notice("C'est fait : la conversation est effacée, ici et chez nous. Tu peux écrire pour recommencer.");
  }

  // Quick exit -------------------------------------------------------------------------
  function quit() {
    if (gone) return;
    gone = true;
    stopLive();
    wipeStorage();
    token = null;
    log.textContent = "";
    document.getElementById("conversation").textContent = "";
    input.value = "";
    if (embedded && window.parent !== window) {
      let target = "*"; // the message carries no data
      try { if (document.referrer) target = new URL(document.referrer).origin; } catch (e) { /* "*" */ }
      window.parent.postMessage({ type: "maraude:quit" }, target);
      if (target !== "*") window.parent.postMessage({ type: "maraude:quit" }, "*");
    } else {
      window.location.replace(exitUrl);
    }
  }
  document.getElementById("quit").addEventListener("click", quit);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" || event.key === "Esc") {
      event.preventDefault();
      quit();
    }
  });
  const closeButton = document.getElementById("close");
  if (closeButton) {
    closeButton.addEventListener("click", function () {
      window.parent.postMessage({ type: "maraude:close" }, "*");
    });
  }

  // The text box -----------------------------------------------------------------------
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    grow();
    send({ text: text }, text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : sendButton.click();
    }
  });
  function grow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 128) + "px";
  }
  input.addEventListener("input", grow);

  // Opening ----------------------------------------------------------------------------
  async function open() {
    if (token) {
      try {
        const data = await attempt(function () { return call("GET", "history"); });
        for (const m of data.messages) {
          if (m.direction === "incoming") bubble("me", m.text);
          else showReply(m, m.origin, m.from);
        }
        cursor = data.cursor || 0;
        setState(data.state);
        if (data.state.known) { startLive(); return; }
      } catch (error) {
        if (!(error instanceof Failure) || error.status !== 400) return;
        dropToken();
      }
    }
    const campaign = body.dataset.campaign || undefined;
    chain = chain.then(function () { return exchange("start", campaign ? { campaign: campaign } : {}); });
  }
  // The token first (the loader's, or this page's storage); a message typed meanwhile waits.
  chain = askParent().then(function (given) {
    token = given === undefined ? load().token || null : given;
    if (token) memory = Object.assign({}, memory, { token: token });
  });
  chain.then(open);
})();
