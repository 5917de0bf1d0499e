/*
 * kefu customer chat widget. Embed it in any page:
 *
 *   <script src="https://HUB/static/widget.js" data-customer-id="cust-good" defer></script>
 *
 * Attributes: data-hub (hub URL; default: where this script came from), data-customer-id (demo profile),
 * data-open="true" (start with the panel open). window.KefuWidget offers open(), close(), setCustomer(id).
 *
 * Delivery: every message gets a client id and waits in a localStorage outbox until the hub acknowledges
 * it (the hub stores before it acks). Messages from the hub carry a sequence number; the widget keeps the
 * conversation id, the last sequence number and a copy of the transcript in localStorage, so after a
 * network drop or a reload it reconnects with ?after=<last seq>, resends the outbox (the hub ignores
 * repeats), and nothing is lost or shown twice. User text is only ever set with textContent.
 */
(function () {
  "use strict";

  var MAX_CHARS = 2000; // the hub refuses longer messages; say so before sending
  var PING_INTERVAL_MS = 20000; // keeps proxies from closing an idle socket and the hub knowing we are here
  var RECONNECT_FIRST_MS = 500; // first retry soon: most drops are a blip
  var RECONNECT_MAX_MS = 10000; // but never hammer a hub that is down
  var TYPING_SEND_INTERVAL_MS = 2000; // tell the agent "typing" at most every 2 s
  var TYPING_SHOW_MS = 4000; // an agent's typing notice fades if nothing follows
  var CACHE_MESSAGES = 200; // transcript kept for reloads

  var script = document.currentScript;
  var hubUrl = ((script && script.getAttribute("data-hub")) || (script ? new URL(script.src).origin : location.origin)).replace(/\/$/, "");
  var wsBase = hubUrl.replace(/^http/, "ws");
  var storageKey = "kefu-widget:" + hubUrl;

  var state = load();
  var configuredCustomer = script && script.hasAttribute("data-customer-id") ? script.getAttribute("data-customer-id") || null : undefined;
  if (configuredCustomer !== undefined && configuredCustomer !== (state.customerId || null)) {
    state = fresh(configuredCustomer); // another profile: another conversation
  }

  var ws = null;
  var reconnectDelay = RECONNECT_FIRST_MS;
  var reconnectTimer = null;
  var pingTimer = null;
  var lastTypingSent = 0;
  var typingHideTimer = null;
  var status = "bot";
  var ui = build();
  renderCache();
  if (script && script.getAttribute("data-open") === "true") open();
  start();

  // -- state --------------------------------------------------------------------------------------------

  function fresh(customerId) {
    return { conversationId: null, customerId: customerId, lastSeq: 0, outbox: [], cache: [] };
  }

  function load() {
    try {
      var saved = JSON.parse(localStorage.getItem(storageKey) || "null");
      if (saved && typeof saved === "object" && Array.isArray(saved.outbox)) {
        saved.cache = Array.isArray(saved.cache) ? saved.cache : [];
        saved.lastSeq = saved.cache.length ? saved.lastSeq || 0 : 0; // without the cache, replay everything
        return saved;
      }
    } catch (e) { /* unreadable: start over */ }
    return fresh(null);
  }

  function save() {
    try {
      localStorage.setItem(storageKey, JSON.stringify(state));
    } catch (e) { /* storage full or disabled: the widget still works for this page */ }
  }

  function newId(prefix) {
    var random = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now();
    return prefix + "-" + random.replace(/[^A-Za-z0-9-]/g, "").slice(0, 40);
  }

  // -- connection ---------------------------------------------------------------------------------------

  function start() {
    if (state.conversationId) {
      fetch(hubUrl + "/api/conversations/" + encodeURIComponent(state.conversationId))
        .then(function (response) {
          if (response.status === 404) return createConversation();
          connect();
        })
        .catch(function () { scheduleReconnect(); });
    } else {
      createConversation();
    }
  }

  function createConversation() {
    var body = JSON.stringify({ customer_id: state.customerId || null });
    return fetch(hubUrl + "/api/conversations", { method: "POST", headers: { "content-type": "application/json" }, body: body })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        var outbox = state.outbox;
        state = fresh(state.customerId);
        state.outbox = outbox;
        state.conversationId = data.conversation_id;
        save();
        clearLog();
        connect();
      })
      .catch(function () { scheduleReconnect(); });
  }

  function connect() {
    clearTimeout(reconnectTimer);
    var url = wsBase + "/ws/conversations/" + encodeURIComponent(state.conversationId) + "?after=" + state.lastSeq;
    var socket = new WebSocket(url);
    ws = socket;
    socket.onopen = function () {
      reconnectDelay = RECONNECT_FIRST_MS;
      setConnection(true);
      state.outbox.forEach(function (frame) { socket.send(JSON.stringify(frame)); });
      clearInterval(pingTimer);
      pingTimer = setInterval(function () { sendRaw({ type: "ping" }); }, PING_INTERVAL_MS);
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      handle(frame);
    };
    socket.onclose = function () {
      if (ws !== socket) return;
      ws = null;
      clearInterval(pingTimer);
      setConnection(false);
      scheduleReconnect(); // start() checks the conversation first and makes a new one if it is gone
    };
  }

  function scheduleReconnect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(start, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, RECONNECT_MAX_MS);
  }

  function sendRaw(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }

  function sendReliable(frame) {
    state.outbox.push(frame);
    save();
    sendRaw(frame);
  }

  function settle(clientMsgId) {
    var before = state.outbox.length;
    state.outbox = state.outbox.filter(function (f) { return f.client_msg_id !== clientMsgId; });
    if (state.outbox.length !== before) save();
  }

  // -- frames from the hub --------------------------------------------------------------------------------

  function handle(frame) {
    switch (frame.type) {
      case "message":
        if (frame.seq <= state.lastSeq) return; // already shown
        state.lastSeq = frame.seq;
        state.cache.push(frame);
        if (state.cache.length > CACHE_MESSAGES) state.cache.splice(0, state.cache.length - CACHE_MESSAGES);
        if (frame.client_msg_id) settle(frame.client_msg_id);
        save();
        render(frame);
        break;
      case "ack":
        if (frame.client_msg_id) {
          settle(frame.client_msg_id);
          var pending = ui.log.querySelector('[data-client-msg-id="' + cssEscape(frame.client_msg_id) + '"]');
          if (pending) pending.classList.remove("kefu-pending");
        }
        break;
      case "error":
        if (frame.client_msg_id) {
          settle(frame.client_msg_id);
          if (frame.code !== "already_rated") markFailed(frame.client_msg_id, frame.message); // a resent rating
        } else {
          notice(frame.message || "出错了，请稍后再试。");
        }
        break;
      case "state":
        setStatus(frame);
        break;
      case "queue":
        if (status === "queued") setBanner(frame.text, true);
        break;
      case "typing":
        showTyping(frame.who, frame.on !== false);
        break;
      default:
        break;
    }
  }

  // -- rendering --------------------------------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else if (name === "className") node.className = attrs[name];
      else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), attrs[name]);
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function cssEscape(value) {
    return (window.CSS && CSS.escape) ? CSS.escape(value) : String(value).replace(/["\\]/g, "\\$&");
  }

  function build() {
    var host = el("div", { id: "kefu-widget-host" });
    document.body.appendChild(host);
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    root.appendChild(el("link", { rel: "stylesheet", href: hubUrl + "/static/widget.css", onload: function () { ui.log.scrollTop = ui.log.scrollHeight; } }));

    var launcher = el("button", {
      className: "kefu-launcher", type: "button", "aria-expanded": "false", "aria-controls": "kefu-panel",
      "aria-label": "打开在线客服", text: "在线客服", onclick: function () { toggle(); },
    });
    var title = el("h2", { id: "kefu-title", text: "微众银行 · 在线客服" });
    var closeButton = el("button", { className: "kefu-close", type: "button", "aria-label": "关闭客服窗口", text: "×", onclick: function () { close(); } });
    var connection = el("p", { className: "kefu-connection", role: "status", "aria-live": "polite" });
    var banner = el("p", { className: "kefu-banner", role: "status", "aria-live": "polite", hidden: "hidden" });
    var cancelQueue = el("button", { className: "kefu-link", type: "button", text: "取消排队", hidden: "hidden", onclick: function () { sendRaw({ type: "cancel_queue" }); } });
    var log = el("ol", { className: "kefu-log", role: "log", "aria-live": "polite", "aria-label": "对话记录", tabindex: "0" });
    var typing = el("p", { className: "kefu-typing", "aria-live": "polite", hidden: "hidden" });
    var human = el("button", { className: "kefu-chip", type: "button", text: "转人工", "aria-label": "转人工客服", onclick: function () { sendMessage("转人工", "/request_human"); } });
    var signLanguage = el("button", { className: "kefu-chip", type: "button", text: "手语视频服务", "aria-label": "手语视频服务（视频手语翻译）", onclick: function () { sendMessage("手语视频服务", "/request_sign_language"); } });
    var input = el("textarea", { id: "kefu-input", rows: "2", placeholder: "请输入您的问题，Enter 发送，Shift+Enter 换行", "aria-describedby": "kefu-counter" });
    var counter = el("span", { id: "kefu-counter", className: "kefu-counter", text: "0/" + MAX_CHARS });
    var error = el("p", { className: "kefu-error", role: "alert" });
    var send = el("button", { className: "kefu-send", type: "submit", text: "发送" });
    var form = el("form", { className: "kefu-compose", "aria-label": "发送消息" }, [
      el("label", { for: "kefu-input", className: "kefu-visually-hidden", text: "消息内容" }), input,
      el("div", { className: "kefu-compose-row" }, [counter, send]), error,
    ]);
    var panel = el("section", { id: "kefu-panel", className: "kefu-panel", role: "dialog", "aria-labelledby": "kefu-title", hidden: "hidden" }, [
      el("header", { className: "kefu-header" }, [title, closeButton]),
      connection, el("div", { className: "kefu-status" }, [banner, cancelQueue]), log, typing,
      el("div", { className: "kefu-toolbar", role: "group", "aria-label": "快捷服务" }, [human, signLanguage]),
      form,
    ]);
    root.appendChild(launcher);
    root.appendChild(panel);

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submitInput();
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submitInput();
      }
    });
    input.addEventListener("input", function () {
      var length = input.value.length;
      counter.textContent = length + "/" + MAX_CHARS;
      counter.classList.toggle("kefu-over", length > MAX_CHARS);
      error.textContent = length > MAX_CHARS ? tooLong() : "";
      if (status === "agent" && Date.now() - lastTypingSent > TYPING_SEND_INTERVAL_MS) {
        lastTypingSent = Date.now();
        sendRaw({ type: "typing" });
      }
    });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") close();
    });
    return { host: host, root: root, launcher: launcher, panel: panel, log: log, input: input, counter: counter, error: error,
      banner: banner, cancelQueue: cancelQueue, typing: typing, human: human, signLanguage: signLanguage, connection: connection };
  }

  function tooLong() {
    return "消息过长：每条消息最多 " + MAX_CHARS + " 字，请精简或分几条发送。";
  }

  function submitInput() {
    var text = ui.input.value.trim();
    if (!text) return;
    if (text.length > MAX_CHARS) {
      ui.error.textContent = tooLong();
      return;
    }
    ui.input.value = "";
    ui.counter.textContent = "0/" + MAX_CHARS;
    ui.error.textContent = "";
    sendMessage(text, null);
  }

  function sendMessage(text, payload) {
    var frame = { type: "message", client_msg_id: newId("c"), text: text };
    if (payload) frame.payload = payload;
    appendBubble({ sender: "customer", kind: "text", text: text, client_msg_id: frame.client_msg_id, data: {} }, true);
    sendReliable(frame);
  }

  function clearLog() {
    while (ui.log.firstChild) ui.log.removeChild(ui.log.firstChild);
  }

  function renderCache() {
    state.cache.forEach(render);
    state.outbox.forEach(function (frame) {
      if (frame.type === "message") appendBubble({ sender: "customer", kind: "text", text: frame.text, client_msg_id: frame.client_msg_id, data: {} }, true);
    });
  }

  function render(message) {
    if (message.client_msg_id) {
      var pending = ui.log.querySelector('[data-client-msg-id="' + cssEscape(message.client_msg_id) + '"]');
      if (pending) {
        pending.classList.remove("kefu-pending");
        pending.setAttribute("data-seq", String(message.seq));
        return;
      }
    }
    if (message.kind === "event" && message.data && message.data.event === "rated") disableRating(message.data.handoff_id);
    if (message.kind === "event" && message.data && message.data.event === "ticket_created") disableTicketForms();
    appendBubble(message, false);
  }

  function appendBubble(message, pending) {
    var who = { customer: "我", bot: "小微（智能客服）", agent: (message.data && message.data.agent_name) ? "客服 " + message.data.agent_name : "人工客服", system: "系统消息" }[message.sender] || "";
    var item = el("li", { className: "kefu-msg kefu-" + message.sender + (message.kind !== "text" ? " kefu-kind-" + message.kind : "") + (pending ? " kefu-pending" : "") });
    if (message.seq) item.setAttribute("data-seq", String(message.seq));
    if (message.client_msg_id) item.setAttribute("data-client-msg-id", message.client_msg_id);
    item.appendChild(el("span", { className: "kefu-visually-hidden", text: who + "：" }));
    item.appendChild(el("p", { className: "kefu-text", text: message.text }));
    var buttons = (message.data && message.data.buttons) || [];
    if (buttons.length) {
      var group = el("div", { className: "kefu-buttons", role: "group", "aria-label": "快捷回复" });
      buttons.forEach(function (button) {
        group.appendChild(el("button", { type: "button", className: "kefu-chip", text: button.title, onclick: function () { sendMessage(button.title, button.payload || null); } }));
      });
      item.appendChild(group);
    }
    if (message.kind === "rating_request") item.appendChild(ratingWidget(message.data.handoff_id));
    if (message.kind === "ticket_offer") item.appendChild(ticketForm());
    ui.log.appendChild(item);
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function markFailed(clientMsgId, reason) {
    var pending = ui.log.querySelector('[data-client-msg-id="' + cssEscape(clientMsgId) + '"]');
    if (pending) {
      pending.classList.remove("kefu-pending");
      pending.classList.add("kefu-failed");
      pending.appendChild(el("p", { className: "kefu-failure", role: "alert", text: "未发送：" + (reason || "请重试") }));
    } else {
      notice(reason);
    }
  }

  function notice(text) {
    ui.log.appendChild(el("li", { className: "kefu-msg kefu-system kefu-notice", role: "alert", text: text }));
  }

  function ratingWidget(handoffId) {
    var group = el("div", { className: "kefu-rating", role: "group", "aria-label": "为本次人工服务评分", "data-handoff-id": String(handoffId) });
    [1, 2, 3, 4, 5].forEach(function (score) {
      group.appendChild(el("button", {
        type: "button", className: "kefu-star", text: score + " 分", "aria-label": "评 " + score + " 分",
        onclick: function () {
          sendReliable({ type: "rate", client_msg_id: newId("r"), handoff_id: handoffId, score: score });
          disableRating(handoffId);
        },
      }));
    });
    return group;
  }

  function disableRating(handoffId) {
    var group = ui.log.querySelector('.kefu-rating[data-handoff-id="' + cssEscape(String(handoffId)) + '"]');
    if (group) Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) { b.disabled = true; });
  }

  function ticketForm() {
    var id = newId("t");
    var phone = el("input", { id: id + "-phone", type: "tel", inputmode: "tel", autocomplete: "tel", required: "required", placeholder: "例如 13800138000" });
    var text = el("textarea", { id: id + "-text", rows: "2", maxlength: String(MAX_CHARS), placeholder: "请简要描述您的问题" });
    var feedback = el("p", { className: "kefu-error", role: "alert" });
    var form = el("form", { className: "kefu-ticket", "aria-label": "留言并预约回电" }, [
      el("label", { for: id + "-phone", text: "回拨电话" }), phone,
      el("label", { for: id + "-text", text: "留言内容" }), text,
      el("button", { type: "submit", className: "kefu-send", text: "提交留言" }), feedback,
    ]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var number = phone.value.replace(/\s+/g, "");
      if (!/^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$/.test(number)) {
        feedback.textContent = "请填写正确的回拨电话，例如 13800138000 或 0755-12345678。";
        return;
      }
      feedback.textContent = "";
      sendReliable({ type: "ticket", client_msg_id: newId("t"), callback_number: number, text: text.value.trim() });
    });
    return form;
  }

  function disableTicketForms() {
    Array.prototype.forEach.call(ui.log.querySelectorAll(".kefu-ticket input, .kefu-ticket textarea, .kefu-ticket button"), function (node) { node.disabled = true; });
  }

  function setStatus(frame) {
    status = frame.status;
    var withPeople = status === "queued" || status === "agent";
    [ui.human, ui.signLanguage].forEach(function (button) {
      button.disabled = withPeople;
      button.title = withPeople ? "您已在人工服务中" : "";
    });
    ui.cancelQueue.hidden = status !== "queued";
    if (status === "agent") setBanner("客服 " + (frame.agent_name || "") + " 正在为您服务", true);
    else if (status === "queued") setBanner("正在为您转接人工客服…", true);
    else setBanner("", false);
    if (status !== "agent") showTyping("agent", false);
  }

  function setBanner(text, visible) {
    ui.banner.textContent = text;
    ui.banner.hidden = !visible;
  }

  function setConnection(connected) {
    ui.connection.textContent = connected ? "" : "连接已中断，正在重新连接…";
    ui.connection.classList.toggle("kefu-offline", !connected);
  }

  function showTyping(who, on) {
    clearTimeout(typingHideTimer);
    ui.typing.textContent = on ? (who === "bot" ? "小微正在输入…" : "客服正在输入…") : "";
    ui.typing.hidden = !on;
    if (on && who !== "bot") typingHideTimer = setTimeout(function () { showTyping(who, false); }, TYPING_SHOW_MS);
  }

  // -- panel ------------------------------------------------------------------------------------------------

  function open() {
    ui.panel.hidden = false;
    ui.launcher.setAttribute("aria-expanded", "true");
    ui.launcher.setAttribute("aria-label", "收起在线客服");
    ui.input.focus();
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function close() {
    ui.panel.hidden = true;
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.setAttribute("aria-label", "打开在线客服");
    ui.launcher.focus();
  }

  function toggle() {
    if (ui.panel.hidden) open(); else close();
  }

  function setCustomer(customerId) {
    if (ws) { var old = ws; ws = null; old.close(); }
    state = fresh(customerId || null);
    save();
    clearLog();
    setStatus({ status: "bot" });
    createConversation();
  }

  window.KefuWidget = {
    open: open,
    close: close,
    setCustomer: setCustomer,
    get conversationId() { return state.conversationId; },
    get customerId() { return state.customerId; },
  };
})();
