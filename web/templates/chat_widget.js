/* The web chat's widget (one line on an allowed site:
   <script src="https://APP/chat/widget.js" async data-campagne="CODE"></script>).
   A button opens the chat in a frame of the app, where the conversation lives. Nothing but
   `window.MaraudeChat` is added to the page; styles are set through the CSSOM inside a shadow
   root (no <style>, no style attribute: works under a strict CSP that allows this script and
   the frame).
   The conversation's token is kept in this site's localStorage (KEY; first-party here, where
   the frame's own storage is blocked or partitioned by many browsers), so that a young person
   who comes back finds their conversation. Only the frame, from the app's origin, may ask for
   it ("maraude:token?"), set it ("maraude:store") or drop it ("maraude:forget", quick exit);
   nothing else of the conversation is kept here. Storage blocked: memory only. */
(function () {
  "use strict";
  var config = {{ config|safe }};
  if (window.MaraudeChat) return; // loaded twice
  var script = document.currentScript;
  var campaign = script ? script.getAttribute("data-campagne") : null;
  var appOrigin;
  try { appOrigin = new URL(config.origin).origin; } catch (e) { return; }
  var base = config.origin.replace(/\/+$/, "");
  var KEY = "maraude-chat-jeton";
  var TOKEN_RE = /^[A-Za-z0-9_-]{22,64}$/;
  var phone = window.matchMedia ? window.matchMedia("(max-width: 600px)") : null;

  function css(element, rules) {
    for (var name in rules) {
      if (Object.prototype.hasOwnProperty.call(rules, name)) element.style.setProperty(name, rules[name]);
    }
    return element;
  }

  var host = document.createElement("div");
  host.setAttribute("data-maraude-chat", "");
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;

  var button = document.createElement("button");
  button.type = "button";
  button.textContent = config.label;
  button.setAttribute("aria-haspopup", "dialog");
  button.setAttribute("aria-expanded", "false");
  css(button, {
    position: "fixed", right: "16px", bottom: "16px", "z-index": "2147483000",
    background: config.colour, color: "#ffffff", border: "2px solid #ffffff",
    "border-radius": "999px", padding: "12px 18px", font: "600 16px/1.2 system-ui, sans-serif",
    "box-shadow": "0 4px 14px rgba(0,0,0,.3)", cursor: "pointer", "max-width": "calc(100vw - 32px)"
  });

  var panel = null;
  var frame = null;

  var memory = null; // the token when this site's storage is blocked
  function storedToken() {
    var value = memory;
    try { value = window.localStorage.getItem(KEY); } catch (e) { /* memory */ }
    return typeof value === "string" && TOKEN_RE.test(value) ? value : null;
  }
  function storeToken(value) {
    if (typeof value !== "string" || !TOKEN_RE.test(value)) return;
    memory = value;
    try { window.localStorage.setItem(KEY, value); } catch (e) { /* memory */ }
  }
  function forgetToken() {
    memory = null;
    try { window.localStorage.removeItem(KEY); } catch (e) { /* memory */ }
  }

  function place() {
    if (!panel) return;
    if (phone && phone.matches) {
      css(panel, { top: "0", left: "0", right: "0", bottom: "0", width: "100%", height: "100%",
        "border-radius": "0" });
    } else {
      css(panel, { top: "auto", left: "auto", right: "16px", bottom: "16px", width: "380px",
        height: "min(640px, calc(100vh - 32px))", "border-radius": "12px" });
    }
  }

  function open() {
    if (panel) { // closed, not removed: the conversation goes on (storage may be blocked)
      css(panel, { display: "flex" });
      shown(true);
      frame.focus();
      return;
    }
    panel = document.createElement("div");
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", config.title);
    css(panel, {
      position: "fixed", "z-index": "2147483001", background: "#ffffff", overflow: "hidden",
      display: "flex", "flex-direction": "column", "box-shadow": "0 8px 30px rgba(0,0,0,.35)",
      "max-width": "100vw", "max-height": "100vh"
    });
    var bar = document.createElement("div");
    css(bar, { display: "flex", "justify-content": "flex-end", background: config.colour });
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "Fermer";
    close.setAttribute("aria-label", "Fermer la discussion");
    css(close, { background: "transparent", color: "#ffffff", border: "0", padding: "6px 12px",
      font: "600 14px/1.2 system-ui, sans-serif", cursor: "pointer" });
    close.addEventListener("click", hide);
    bar.appendChild(close);
    frame = document.createElement("iframe");
    frame.title = config.title;
    frame.referrerPolicy = "origin";
    frame.src = base + "/chat?embed=1" + (campaign ? "&c=" + encodeURIComponent(campaign) : "");
    css(frame, { border: "0", width: "100%", flex: "1 1 auto", "min-height": "0" });
    panel.appendChild(bar);
    panel.appendChild(frame);
    place();
    root.appendChild(panel);
    shown(true);
    frame.focus();
  }

  function shown(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    css(button, { display: open ? "none" : "inline-block" });
  }

  function isOpen() {
    return Boolean(panel) && panel.style.getPropertyValue("display") !== "none";
  }

  function hide() {
    if (!isOpen()) return;
    css(panel, { display: "none" });
    shown(false);
    button.focus();
  }

  // Quick exit: the frame wiped itself; the host page is replaced by the neutral site.
  function quit() {
    forgetToken();
    if (panel) panel.remove();
    panel = null;
    frame = null;
    window.location.replace(config.exit);
  }

  button.addEventListener("click", open);
  window.addEventListener("message", function (event) {
    if (event.origin !== appOrigin || !frame || event.source !== frame.contentWindow) return;
    var type = event.data && event.data.type;
    if (type === "maraude:quit") quit();
    else if (type === "maraude:close") hide();
    else if (type === "maraude:token?") {
      event.source.postMessage({ type: "maraude:token", token: storedToken() }, appOrigin);
    } else if (type === "maraude:store") storeToken(event.data.token);
    else if (type === "maraude:forget") forgetToken();
  });
  document.addEventListener("keydown", function (event) {
    if (isOpen() && (event.key === "Escape" || event.key === "Esc")) quit();
  });
  if (phone) {
    if (phone.addEventListener) phone.addEventListener("change", place);
    else if (phone.addListener) phone.addListener(place);
  }

  root.appendChild(button);
  function mount() { document.body.appendChild(host); }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  window.MaraudeChat = { open: open, close: hide };
})();
