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
 *
 * Sign-language video: while an interpreter serves the conversation (state channel "video") the panel shows a
 * video call (hub/static/call.js, loaded on demand; plain RTCPeerConnection). The widget opens the camera,
 * says rtc_ready over its websocket, answers the interpreter's offer and trickles ICE candidates; no camera or
 * no permission sends rtc_fallback and the chat goes on in text with the same interpreter. Hanging up ends the
 * video only; the interpreter ends the service. Labels and ICE servers come from GET /api/video. Customers
 * whose profile prefers sign language are offered the service before they ask.
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
  var lastState = { status: "bot" };
  var queueText = "";
  var prefersSignLanguage = false;
  var videoConfig = null; // { ice_servers, texts } from GET /api/video
  var videoConfigPromise = null;
  var video = null; // the video panel and its call, built on first use
  var ui = build();
  renderCache();
  if (script && script.getAttribute("data-open") === "true") open();
  loadVideoConfig().then(function () { setStatus(lastState); }).catch(function () { /* retried when needed */ });
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
          return response.json().then(function (data) {
            prefersSignLanguage = !!data.prefers_sign_language;
            connect();
          });
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
        prefersSignLanguage = !!data.prefers_sign_language;
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
      if (video && video.stream && !(video.peer && video.peer.pc.connectionState === "connected")) {
        sendRaw({ type: "rtc_ready", peer_id: video.peerId, audio: video.micOn, video: video.cameraOn }); // may have been lost
      }
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
        if (String(frame.request_type || "").slice(0, 4) === "rtc_") {
          if (video && video.handoffId !== null) setVideoStatus(frame.message, true);
        } else if (frame.client_msg_id) {
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
        queueText = frame.text;
        if (status === "queued") setBanner(frame.text, true);
        break;
      case "rtc_ready":
      case "rtc_offer":
      case "rtc_candidate":
      case "rtc_media":
      case "rtc_hangup":
      case "rtc_fallback":
        onSignal(frame);
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
    var toolbar = el("div", { className: "kefu-toolbar", role: "group", "aria-label": "快捷服务" }, [human, signLanguage]);
    var panel = el("section", { id: "kefu-panel", className: "kefu-panel", role: "dialog", "aria-labelledby": "kefu-title", hidden: "hidden" }, [
      el("header", { className: "kefu-header" }, [title, closeButton]),
      connection, el("div", { className: "kefu-status" }, [banner, cancelQueue]), log, typing, toolbar, form,
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
      banner: banner, cancelQueue: cancelQueue, typing: typing, human: human, signLanguage: signLanguage, connection: connection,
      toolbar: toolbar, suggestion: null };
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
    lastState = frame;
    status = frame.status;
    var withPeople = status === "queued" || status === "agent";
    var isVideo = frame.channel === "video";
    [ui.human, ui.signLanguage].forEach(function (button) {
      button.disabled = withPeople;
      button.title = withPeople ? "您已在人工服务中" : "";
    });
    ui.cancelQueue.hidden = status !== "queued";
    if (status !== "queued") queueText = "";
    if (status === "agent" && isVideo && t("serving")) setBanner(t("serving").replace("{agent_name}", frame.agent_name || ""), true);
    else if (status === "agent") setBanner("客服 " + (frame.agent_name || "") + " 正在为您服务", true);
    else if (status === "queued") setBanner(queueText || (isVideo && t("queued")) || "正在为您转接人工客服…", true);
    else setBanner("", false);
    if (status !== "agent") showTyping("agent", false);
    if (status === "agent" && isVideo) enterVideo(frame.handoff_id); else leaveVideo();
    showSuggestion(status === "bot" && prefersSignLanguage && !state.suggested);
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

  // -- sign-language video --------------------------------------------------------------------------------

  function t(key) {
    return (videoConfig && videoConfig.texts && videoConfig.texts[key]) || "";
  }

  function loadVideoConfig() {
    if (!videoConfigPromise) {
      videoConfigPromise = fetch(hubUrl + "/api/video")
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) { videoConfig = data; return data; })
        .catch(function (error) { videoConfigPromise = null; throw error; });
    }
    return videoConfigPromise;
  }

  function loadCallScript() {
    if (window.KefuCall) return Promise.resolve();
    return new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = hubUrl + "/static/call.js";
      tag.onload = function () { resolve(); };
      tag.onerror = function () { reject(new Error("call.js did not load")); };
      document.head.appendChild(tag);
    });
  }

  function showSuggestion(visible) {
    if (!visible || !t("suggest")) {
      if (ui.suggestion) { ui.suggestion.parentNode.removeChild(ui.suggestion); ui.suggestion = null; }
      return;
    }
    if (ui.suggestion) return;
    var accept = el("button", { type: "button", className: "kefu-chip kefu-primary", text: t("suggest_accept"), onclick: function () {
      dismissSuggestion();
      sendMessage(ui.signLanguage.textContent, "/request_sign_language");
    } });
    var decline = el("button", { type: "button", className: "kefu-chip", text: t("suggest_decline"), onclick: function () {
      dismissSuggestion();
      ui.input.focus();
    } });
    ui.suggestion = el("div", { className: "kefu-suggest", role: "group", "aria-label": t("suggest_label") }, [
      el("p", { className: "kefu-suggest-text", text: t("suggest") }), el("div", { className: "kefu-buttons" }, [accept, decline]),
    ]);
    ui.panel.insertBefore(ui.suggestion, ui.toolbar);
  }

  function dismissSuggestion() {
    state.suggested = true;
    save();
    showSuggestion(false);
  }

  function buildVideo() {
    if (video) return video;
    var remote = el("video", { className: "kefu-remote", autoplay: "", playsinline: "", "aria-label": t("remote") });
    var local = el("video", { className: "kefu-local", autoplay: "", playsinline: "", "aria-label": t("local") });
    local.muted = true; // never hear yourself
    var v = {
      handoffId: null, stream: null, peer: null, peerId: null, micOn: false, cameraOn: false,
      remote: remote, local: local,
      peerState: el("p", { className: "kefu-peer-state", "aria-live": "polite" }),
      status: el("p", { className: "kefu-video-status", role: "status", "aria-live": "polite" }),
      mic: el("button", { type: "button", className: "kefu-video-button", "aria-pressed": "false", text: t("mic_off"), onclick: function () { toggleMedia("audio"); } }),
      camera: el("button", { type: "button", className: "kefu-video-button", "aria-pressed": "false", text: t("camera_off"), onclick: function () { toggleMedia("video"); } }),
      hangUp: el("button", { type: "button", className: "kefu-video-button kefu-danger", text: t("hang_up"), onclick: function () { hangUp(); } }),
      restart: el("button", { type: "button", className: "kefu-video-button", text: t("restart"), hidden: "hidden", onclick: function () { startCamera(); } }),
      unmute: el("button", { type: "button", className: "kefu-video-button", text: t("unmute_remote"), hidden: "hidden", onclick: function () {
        remote.muted = false;
        remote.play().catch(function () { /* still refused: stays muted */ });
        v.unmute.hidden = true;
      } }),
    };
    v.stage = el("div", { className: "kefu-stage" }, [remote, local, v.peerState]);
    v.section = el("section", { className: "kefu-video", "aria-label": t("region"), "data-state": "idle", hidden: "hidden" }, [
      v.stage, v.status,
      el("div", { className: "kefu-video-controls", role: "group", "aria-label": t("controls") }, [v.mic, v.camera, v.hangUp, v.restart, v.unmute]),
    ]);
    ui.panel.insertBefore(v.section, ui.log);
    video = v;
    return v;
  }

  function enterVideo(handoffId) {
    if (video && video.handoffId === handoffId) return;
    loadVideoConfig().then(function () {
      if (lastState.status !== "agent" || lastState.channel !== "video" || lastState.handoff_id !== handoffId) return;
      var v = buildVideo();
      if (v.handoffId === handoffId) return;
      v.handoffId = handoffId;
      v.section.hidden = false;
      ui.panel.classList.add("kefu-with-video");
      if (state.videoOff === handoffId) showEnded(offText(state.videoOffReason), state.videoOffReason !== "unsupported", cameraFailed());
      else startCamera(); // the video was not ended in this stay (before a reload, say): open the camera
    }).catch(function () { /* no settings, no video: the text chat goes on */ });
  }

  function leaveVideo() {
    if (!video || video.handoffId === null) return;
    closeCall();
    video.handoffId = null;
    video.section.hidden = true;
    video.section.setAttribute("data-state", "idle");
    ui.panel.classList.remove("kefu-with-video");
  }

  function closeCall() {
    var v = video;
    v.opening = null; // a camera still opening is not wanted any more
    if (v.peer) { v.peer.close(); v.peer = null; }
    if (window.KefuCall) KefuCall.stop(v.stream);
    v.stream = null;
    v.remote.srcObject = null;
    v.local.srcObject = null;
    v.peerState.textContent = "";
    v.unmute.hidden = true;
    setControls(false);
  }

  function setControls(live) {
    var v = video;
    v.mic.disabled = !live || !v.stream || v.stream.getAudioTracks().length === 0;
    v.camera.disabled = !live;
    v.hangUp.disabled = !live;
    v.mic.hidden = v.camera.hidden = v.hangUp.hidden = !live; // in text mode only "restart" is offered
    v.mic.setAttribute("aria-pressed", String(live && !v.micOn));
    v.camera.setAttribute("aria-pressed", String(live && !v.cameraOn));
  }

  function setVideoStatus(text, urgent) {
    video.status.textContent = text;
    video.status.setAttribute("role", urgent ? "alert" : "status");
  }

  function startCamera() {
    var v = video;
    closeCall();
    var opening = v.opening = {};
    v.restart.hidden = true;
    v.stage.hidden = false;
    v.section.setAttribute("data-state", "starting");
    setVideoStatus(t("starting"), false);
    loadCallScript()
      .then(function () { return KefuCall.openMedia(); }, function () { throw { reason: "unsupported" }; })
      .then(function (stream) {
        if (v.opening !== opening) { KefuCall.stop(stream); return; } // hung up, fell back or left meanwhile
        v.opening = null;
        v.stream = stream;
        v.micOn = stream.getAudioTracks().length > 0;
        v.cameraOn = true;
        KefuCall.play(v.local, stream);
        if (state.videoOff === v.handoffId) markVideoOff(null);
        v.peerId = newId("p");
        setControls(true);
        v.section.setAttribute("data-state", "waiting");
        setVideoStatus(t("waiting"), false);
        sendRaw({ type: "rtc_ready", peer_id: v.peerId, audio: v.micOn, video: v.cameraOn });
      })
      .catch(function (error) {
        if (v.opening === opening) fallBack((error && error.reason) || "no_camera");
      });
  }

  // Why this stay's video is off, kept across reloads: a camera problem (no_camera …), "hangup" or "peer".
  function markVideoOff(reason) {
    state.videoOff = reason ? video.handoffId : null;
    state.videoOffReason = reason;
    save();
  }

  function offText(reason) {
    if (reason === "hangup") return t("ended");
    if (reason === "peer") return t("peer_fallback");
    return t(reason) || t("ended");
  }

  function cameraFailed() {
    return state.videoOff === video.handoffId && state.videoOffReason !== "hangup" && state.videoOffReason !== "peer";
  }

  function fallBack(reason) {
    closeCall();
    markVideoOff(reason);
    sendRaw({ type: "rtc_fallback", reason: reason });
    showEnded(t(reason), reason !== "unsupported", true);
  }

  function hangUp() {
    closeCall();
    markVideoOff("hangup");
    sendRaw({ type: "rtc_hangup" });
    showEnded(t("ended"), true);
    video.restart.focus(); // the focused button just became disabled; keep the keyboard somewhere useful
  }

  function showEnded(text, canRestart, urgent) {
    video.stage.hidden = true;
    video.restart.hidden = !canRestart;
    video.section.setAttribute("data-state", "ended");
    setVideoStatus(text, !!urgent);
  }

  function toggleMedia(kind) {
    var v = video;
    if (!v.stream) return;
    var on = kind === "audio" ? !v.micOn : !v.cameraOn;
    KefuCall.setEnabled(v.stream, kind, on);
    if (kind === "audio") v.micOn = on; else v.cameraOn = on;
    setControls(true);
    sendRaw({ type: "rtc_media", audio: v.micOn, video: v.cameraOn });
  }

  function onPeerState(connectionState) {
    video.section.setAttribute("data-state", connectionState);
    if (connectionState === "connected") setVideoStatus(t("connected"), false);
    else if (connectionState === "disconnected" || connectionState === "failed") setVideoStatus(t("unstable"), false);
  }

  function onSignal(frame) {
    var v = video;
    if (!v || v.handoffId === null) return;
    switch (frame.type) {
      case "rtc_ready": // the interpreter's camera is on: tell them ours is (they call), or invite a restart
        if (v.stream) sendRaw({ type: "rtc_ready", peer_id: v.peerId, audio: v.micOn, video: v.cameraOn });
        else if (state.videoOff === v.handoffId && !cameraFailed()) showEnded(t("invited"), true);
        break; // after our own camera failed the reason stays on screen; "重新开始视频" is there
      case "rtc_offer":
        if (!v.stream) return;
        if (v.peer) v.peer.close();
        var peer = v.peer = new KefuCall.Peer({
          iceServers: videoConfig.ice_servers, stream: v.stream, send: sendRaw, onState: onPeerState,
          onRemoteStream: function (stream) {
            KefuCall.play(v.remote, stream).then(function (muted) { v.unmute.hidden = !muted; });
          },
        });
        setVideoStatus(t("connecting"), false);
        peer.answer(frame).catch(function () { if (v.peer === peer) setVideoStatus(t("unstable"), false); });
        break;
      case "rtc_candidate":
        if (v.peer) v.peer.addCandidate(frame);
        break;
      case "rtc_media":
        v.peerState.textContent = [frame.video ? "" : t("peer_camera_off"), frame.audio ? "" : t("peer_mic_off")]
          .filter(Boolean).join(" · ");
        break;
      case "rtc_hangup":
      case "rtc_fallback": // the stored system message says why; the panel says what now
        if (cameraFailed()) break; // already in text, for our own reason
        closeCall();
        markVideoOff(frame.type === "rtc_hangup" ? "hangup" : "peer");
        showEnded(offText(state.videoOffReason), true);
        break;
      default:
        break;
    }
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
    leaveVideo();
    prefersSignLanguage = false;
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
