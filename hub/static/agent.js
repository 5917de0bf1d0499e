/*
 * kefu agent console. Talks to /agent/api/* (JSON, session cookie) and /agent/ws (live queue, assignments,
 * messages). Outgoing messages wait in a localStorage outbox until the hub acknowledges them, so a dropped
 * connection or a hub restart loses nothing; the hub deduplicates by client_msg_id. Text from customers is
 * only ever set with textContent. Sign-language video and the identity check: agent-video.js.
 */
(function () {
  "use strict";

  var PING_INTERVAL_MS = 20000; // the hub marks agents offline after 90 s without a ping
  var RECONNECT_FIRST_MS = 500;
  var RECONNECT_MAX_MS = 10000;
  var TYPING_SEND_INTERVAL_MS = 2000;
  var TYPING_SHOW_MS = 4000;
  var OUTBOX_KEY = "kefu-agent-outbox";

  var $ = function (id) { return document.getElementById(id); };
  var config = null;
  var me = null;
  var ws = null;
  var reconnectDelay = RECONNECT_FIRST_MS;
  var pingTimer = null;
  var typingTimer = null;
  var lastTypingSent = 0;
  var selected = null; // conversation id shown in the middle
  var conversations = {}; // id -> { lastSeq, loaded, unread, detail }
  var mine = [];
  var colleagues = [];
  var queueSnapshot = [];
  var snapshotAt = Date.now();
  var outbox = loadOutbox();
  var video = window.KefuAgentVideo.create({
    send: function (frame) { send(frame); },
    api: function (method, path, body) { return api(method, path, body); },
    select: function (conversationId) { select(conversationId); },
    label: function (customerId) { return label(customerId); },
    iceServers: function () { return (config && config.video && config.video.ice_servers) || []; },
    timeZone: function () { return (config && config.timezone) || undefined; },
    fallbackTexts: function () { return (config && config.video && config.video.fallback_texts) || {}; },
  });

  // -- helpers ------------------------------------------------------------------------------------------

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

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function api(method, path, body) {
    return fetch(path, {
      method: method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
      credentials: "same-origin",
    }).then(function (response) {
      if (response.status === 401) { location.href = "/agent/login"; throw new Error("请重新登录"); }
      return response.json().then(function (data) {
        if (!response.ok) throw new Error((data.error && data.error.message) || ("HTTP " + response.status));
        return data;
      });
    });
  }

  function newId() {
    var random = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now();
    return "a-" + random.replace(/[^A-Za-z0-9-]/g, "").slice(0, 40);
  }

  function loadOutbox() {
    try { var saved = JSON.parse(localStorage.getItem(OUTBOX_KEY) || "[]"); return Array.isArray(saved) ? saved : []; } catch (e) { return []; }
  }

  function saveOutbox() {
    try { localStorage.setItem(OUTBOX_KEY, JSON.stringify(outbox)); } catch (e) { /* full: keep it in memory */ }
  }

  function minutesSeconds(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    return Math.floor(seconds / 60) + " 分 " + (seconds % 60) + " 秒";
  }

  function label(customerId) { return customerId ? "客户 " + customerId : "访客"; }

  // -- websocket ------------------------------------------------------------------------------------------

  function connect() {
    var socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/agent/ws");
    ws = socket;
    socket.onopen = function () {
      reconnectDelay = RECONNECT_FIRST_MS;
      setConnection(true);
      Object.keys(conversations).forEach(watch);
      outbox.forEach(function (frame) { socket.send(JSON.stringify(frame)); });
      video.reconnected();
      clearInterval(pingTimer);
      pingTimer = setInterval(function () { send({ type: "ping" }); }, PING_INTERVAL_MS);
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
      setTimeout(connect, reconnectDelay);
      reconnectDelay = Math.min(reconnectDelay * 2, RECONNECT_MAX_MS);
    };
  }

  function send(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }

  function watch(conversationId) {
    var entry = conversations[conversationId];
    send({ type: "watch", conversation_id: conversationId, after: entry ? entry.lastSeq : 0 });
  }

  function track(conversationId, lastSeq) {
    if (!conversations[conversationId]) {
      conversations[conversationId] = { lastSeq: lastSeq || 0, loaded: false, unread: 0, detail: null, buffer: [] };
      watch(conversationId);
    }
    return conversations[conversationId];
  }

  function setConnection(connected) {
    $("connection").textContent = connected ? "已连接" : "连接中断，正在重连…";
    $("connection").classList.toggle("offline", !connected);
  }

  function handle(frame) {
    switch (frame.type) {
      case "hello":
      case "presence":
        me = frame.agent;
        $("me").textContent = me.display_name + "（" + me.id + "）";
        $("presence").value = me.presence === "offline" ? "online" : me.presence;
        break;
      case "queues":
        queueSnapshot = frame.queues;
        snapshotAt = Date.now();
        renderQueues();
        loadTickets();
        break;
      case "mine":
        mine = frame.conversations;
        mine.forEach(function (c) { track(c.conversation_id, c.last_seq); });
        renderMine();
        video.mineChanged(mine);
        refreshColleagues();
        if (selected) refreshSelectedStatus();
        if (selected && conversations[selected].detail) { // accepted a moment before the list said it is ours
          video.conversationShown(selected, conversations[selected].detail, mine.some(function (c) { return c.conversation_id === selected; }));
        }
        break;
      case "message":
        receive(frame);
        break;
      case "ack":
        settle(frame.client_msg_id);
        break;
      case "error":
        if (frame.client_msg_id) {
          settle(frame.client_msg_id);
          var pending = document.querySelector('[data-client-msg-id="' + CSS.escape(frame.client_msg_id) + '"]');
          if (pending) pending.appendChild(el("span", { className: "error", role: "alert", text: "未发送：" + frame.message }));
        } else if (String(frame.request_type || "").slice(0, 4) === "rtc_") {
          video.error(frame.message);
        } else if (frame.code !== "conversation_not_found") {
          $("reply-error").textContent = frame.message;
        }
        break;
      case "rtc_ready":
      case "rtc_answer":
      case "rtc_candidate":
      case "rtc_media":
      case "rtc_hangup":
      case "rtc_fallback":
        video.handle(frame);
        break;
      case "typing":
        if (frame.who === "customer") showTyping();
        break;
      case "state":
        if (frame.conversation_id === selected) refreshSelectedStatus();
        break;
      default:
        break;
    }
  }

  function settle(clientMsgId) {
    if (!clientMsgId) return;
    outbox = outbox.filter(function (f) { return f.client_msg_id !== clientMsgId; });
    saveOutbox();
  }

  function receive(message) {
    var entry = track(message.conversation_id, 0);
    if (message.seq <= entry.lastSeq) return; // already shown
    entry.lastSeq = message.seq;
    if (message.client_msg_id) settle(message.client_msg_id);
    if (message.conversation_id === selected && entry.loaded) {
      appendMessage(message);
    } else if (message.conversation_id === selected) {
      entry.buffer.push(message); // the transcript is still loading: show this after it
    } else if (message.sender === "customer") {
      entry.unread += 1;
      renderMine();
    }
  }

  // -- queues, my conversations, tickets ---------------------------------------------------------------------

  function renderQueues() {
    var container = $("queues");
    clear(container);
    queueSnapshot.forEach(function (queue) {
      var list = el("ul", { className: "list", "aria-label": queue.name + "排队列表" });
      queue.waiting.forEach(function (item) {
        var who = label(item.customer_id);
        list.appendChild(el("li", {}, [
          el("div", { className: "meta" }, [
            el("span", { text: "#" + item.position + " · " + who + " · " + (item.reason_label || "") }),
            el("span", { className: "waited", "data-waited": String(item.waited_seconds), text: " · 已等待 " + minutesSeconds(item.waited_seconds) }),
          ]),
          el("p", { className: "preview", text: item.preview || "（暂无留言）" }),
          el("button", { type: "button", text: "接入", "aria-label": "接入 " + who, onclick: function () { accept(item.conversation_id); } }),
        ]));
      });
      container.appendChild(el("h3", { text: queue.name + "（" + queue.waiting.length + " 人）" }));
      container.appendChild(list.childNodes.length ? list : el("p", { className: "muted", text: "暂无排队" }));
    });
  }

  setInterval(function () {
    var elapsed = (Date.now() - snapshotAt) / 1000;
    Array.prototype.forEach.call(document.querySelectorAll(".waited"), function (node) {
      node.textContent = " · 已等待 " + minutesSeconds(Number(node.getAttribute("data-waited")) + elapsed);
    });
  }, 1000);

  function renderMine() {
    var list = $("mine");
    clear(list);
    if (!mine.length) list.appendChild(el("li", { className: "muted", text: "暂无进行中的会话" }));
    mine.forEach(function (c) {
      var entry = conversations[c.conversation_id] || { unread: 0 };
      var open = el("button", { type: "button", text: label(c.customer_id) + " · " + (c.reason_label || "") + (c.channel === "video" ? " · 视频" : ""), onclick: function () { select(c.conversation_id); } });
      var item = el("li", { className: c.conversation_id === selected ? "selected" : "" }, [
        open, entry.unread ? el("span", { className: "badge", "aria-label": entry.unread + " 条未读", text: String(entry.unread) }) : null,
        el("p", { className: "preview", text: c.preview || "" }),
      ]);
      list.appendChild(item);
    });
  }

  function loadTickets() {
    api("GET", "/agent/api/tickets").then(function (data) {
      var list = $("tickets");
      clear(list);
      if (!data.tickets.length) list.appendChild(el("li", { className: "muted", text: "暂无待回电留言" }));
      data.tickets.forEach(function (t) {
        list.appendChild(el("li", {}, [
          el("div", { className: "meta", text: "回拨 " + t.callback_number + " · " + new Date(t.created_at).toLocaleString("zh-CN") }),
          el("p", { className: "preview", text: t.text || "（无留言内容）" }),
        ]));
      });
    }).catch(function () { /* shown again on the next update */ });
  }

  function accept(conversationId) {
    $("accept-error").textContent = "";
    var request = conversationId
      ? api("POST", "/agent/api/conversations/" + encodeURIComponent(conversationId) + "/accept")
      : api("POST", "/agent/api/accept-next");
    request.then(function (data) { select(data.conversation_id); })
      .catch(function (error) { $("accept-error").textContent = error.message; });
  }

  // -- the selected conversation ---------------------------------------------------------------------------

  function select(conversationId) {
    selected = conversationId;
    var entry = track(conversationId, 0);
    entry.loaded = false;
    entry.unread = 0;
    renderMine();
    api("GET", "/agent/api/conversations/" + encodeURIComponent(conversationId)).then(function (detail) {
      if (selected !== conversationId) return;
      entry.detail = detail;
      entry.loaded = true;
      clear($("transcript"));
      detail.messages.forEach(appendMessage);
      var shown = detail.messages.length ? detail.messages[detail.messages.length - 1].seq : 0;
      entry.buffer.forEach(function (m) { if (m.seq > shown) appendMessage(m); });
      entry.buffer = [];
      detail.messages.forEach(function (m) { entry.lastSeq = Math.max(entry.lastSeq, m.seq); });
      outbox.forEach(function (frame) {
        if (frame.conversation_id === conversationId) appendMessage({ sender: "agent", kind: frame.note ? "note" : "text", text: frame.text, client_msg_id: frame.client_msg_id, data: {}, pending: true });
      });
      watch(conversationId);
      renderContext(detail);
      refreshSelectedStatus();
      video.conversationShown(conversationId, detail, mine.some(function (c) { return c.conversation_id === conversationId; }));
      $("reply").focus();
    }).catch(function (error) { $("chat-status").textContent = error.message; });
  }

  function refreshSelectedStatus() {
    var isMine = mine.some(function (c) { return c.conversation_id === selected; });
    var entry = conversations[selected];
    var customer = entry && entry.detail ? label(entry.detail.conversation.customer_id) : "";
    $("chat-title").textContent = customer ? "与" + customer + "的会话" : "会话";
    $("chat-status").textContent = isMine ? "服务中" : "已结束或已转接（只读）";
    $("compose").hidden = !isMine;
    $("transfer").hidden = !isMine;
    $("resolve").hidden = !isMine;
  }

  function appendMessage(message) {
    var transcript = $("transcript");
    if (message.client_msg_id) {
      var existing = transcript.querySelector('[data-client-msg-id="' + CSS.escape(message.client_msg_id) + '"]');
      if (existing) { existing.classList.remove("pending"); return; }
    }
    var who = {
      customer: "客户", bot: "机器人小微", system: "系统",
      agent: message.kind === "note" ? "内部备注 · " + ((message.data && message.data.agent_name) || "") : ((message.data && message.data.agent_name) || "我"),
    }[message.sender] || message.sender;
    var text = (message.sender === "system" && message.data && message.data.agent_text) || message.text; // written for us
    var item = el("li", { className: [message.sender, message.kind === "note" ? "note" : "", message.pending ? "pending" : ""].join(" ") }, [
      el("span", { className: "who", text: who }),
      el("span", { className: "text", text: text }),
    ]);
    if (message.client_msg_id) item.setAttribute("data-client-msg-id", message.client_msg_id);
    if (message.seq) item.setAttribute("data-seq", String(message.seq));
    transcript.appendChild(item);
    transcript.scrollTop = transcript.scrollHeight;
  }

  function renderContext(detail) {
    var box = $("context");
    clear(box);
    var handoff = detail.handoff;
    if (!handoff) { box.appendChild(el("p", { className: "muted", text: "此会话没有转人工记录。" })); return; }
    var packet = handoff.context || {};
    var intent = packet.last_intent || {};
    var customer = packet.customer || {};
    var verified = packet.verified === true ? "已验证" : packet.verified === false ? "验证已锁定" : "未验证";
    var rows = [
      ["原因", handoff.reason_label],
      ["队列", handoff.queue + " / " + handoff.skill],
      ["最后意图", intent.name ? intent.name + "（置信度 " + Math.round((intent.confidence || 0) * 100) + "%）" : "—"],
      ["最后一句", packet.last_message || "—"],
      ["身份验证", verified],
      ["客户", customer.customer_id || "访客"],
      ["偏好手语", customer.prefers_sign_language ? "是" : "否"],
    ];
    var list = el("dl", { className: "packet" });
    rows.forEach(function (row) { list.appendChild(el("dt", { text: row[0] })); list.appendChild(el("dd", { text: String(row[1]) })); });
    box.appendChild(list);
    var candidates = packet.kb_candidates || [];
    box.appendChild(el("h3", { text: "知识库候选" }));
    var kb = el("ol", {});
    candidates.forEach(function (c) { kb.appendChild(el("li", { text: (c.question || c.faq_id || "") + (c.score != null ? "（" + Number(c.score).toFixed(2) + "）" : "") })); });
    box.appendChild(candidates.length ? kb : el("p", { className: "muted", text: "无" }));
    var slots = packet.slots || {};
    var slotList = el("dl", { className: "packet" });
    Object.keys(slots).forEach(function (name) {
      if (slots[name] === null || slots[name] === undefined) return;
      slotList.appendChild(el("dt", { text: name }));
      slotList.appendChild(el("dd", { text: typeof slots[name] === "object" ? JSON.stringify(slots[name]) : String(slots[name]) }));
    });
    box.appendChild(el("details", {}, [el("summary", { text: "槽位" }), slotList]));
    var turns = el("ol", {});
    (packet.transcript || []).forEach(function (t) { turns.appendChild(el("li", { text: (t.sender === "customer" ? "客户：" : "小微：") + (t.text || "") })); });
    var botTranscript = el("details", {}, [el("summary", { text: "机器人对话记录（" + (packet.transcript || []).length + " 条）" }), turns]);
    if (handoff.queue === "sign_language") botTranscript.open = true; // interpreters read it beside the video
    box.appendChild(botTranscript);
  }

  function showTyping() {
    clearTimeout(typingTimer);
    $("typing").textContent = "客户正在输入…";
    typingTimer = setTimeout(function () { $("typing").textContent = ""; }, TYPING_SHOW_MS);
  }

  function refreshColleagues() {
    api("GET", "/agent/api/agents").then(function (data) {
      colleagues = data.agents;
      renderTransferTargets();
    }).catch(function () { /* keep the last list */ });
  }

  function renderTransferTargets() {
    var select = $("transfer-target");
    var current = select.value;
    clear(select);
    var people = el("optgroup", { label: "同事" });
    colleagues.forEach(function (a) {
      if (me && a.id === me.id) return;
      var presence = { online: "在线", away: "小休", offline: "离线" }[a.presence];
      var option = el("option", { value: "agent:" + a.id, text: a.display_name + "（" + presence + "，" + a.load + "/" + a.capacity + "）" });
      if (a.presence === "offline" || a.load >= a.capacity) option.disabled = true;
      people.appendChild(option);
    });
    var queues = el("optgroup", { label: "队列" });
    var skillNames = { loan: "贷款", account: "账户", complaint: "投诉", interpreter: "手语" };
    Object.keys(config.queues).forEach(function (queue) {
      config.queues[queue].forEach(function (skill) {
        queues.appendChild(el("option", { value: "queue:" + queue + ":" + skill, text: (queue === "sign_language" ? "手语视频" : "人工") + " · " + skillNames[skill] }));
      });
    });
    select.appendChild(people);
    select.appendChild(queues);
    if (current) select.value = current;
  }

  // -- forms ------------------------------------------------------------------------------------------------

  function sendReply() {
    var text = $("reply").value.trim();
    if (!text || !selected) return;
    if (text.length > 2000) { $("reply-error").textContent = "消息过长：每条最多 2000 字。"; return; }
    var note = $("note-mode").checked;
    var frame = { type: "message", conversation_id: selected, client_msg_id: newId(), text: text, note: note };
    outbox.push(frame);
    saveOutbox();
    appendMessage({ sender: "agent", kind: note ? "note" : "text", text: text, client_msg_id: frame.client_msg_id, data: {}, pending: true });
    send(frame);
    $("reply").value = "";
    $("reply-error").textContent = "";
  }

  $("compose").addEventListener("submit", function (event) { event.preventDefault(); sendReply(); });
  $("reply").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); sendReply(); }
  });
  $("reply").addEventListener("input", function () {
    if (selected && !$("note-mode").checked && Date.now() - lastTypingSent > TYPING_SEND_INTERVAL_MS) {
      lastTypingSent = Date.now();
      send({ type: "typing", conversation_id: selected });
    }
  });
  $("canned").addEventListener("change", function () {
    if ($("canned").value) { $("reply").value = $("canned").value; $("canned").value = ""; $("reply").focus(); }
  });
  $("accept-next").addEventListener("click", function () { accept(null); });
  $("presence").addEventListener("change", function () {
    api("POST", "/agent/api/presence", { presence: $("presence").value }).catch(function (error) { $("accept-error").textContent = error.message; });
  });
  $("transfer").addEventListener("submit", function (event) {
    event.preventDefault();
    var target = $("transfer-target").value.split(":");
    var body = { note: $("transfer-note").value };
    if (target[0] === "agent") body.to_agent = target[1]; else { body.queue = target[1]; body.skill = target[2]; }
    $("transfer-error").textContent = "";
    api("POST", "/agent/api/conversations/" + encodeURIComponent(selected) + "/transfer", body)
      .then(function () { $("transfer-note").value = ""; })
      .catch(function (error) { $("transfer-error").textContent = error.message; });
  });
  $("resolve").addEventListener("submit", function (event) {
    event.preventDefault();
    $("resolve-error").textContent = "";
    api("POST", "/agent/api/conversations/" + encodeURIComponent(selected) + "/resolve", { disposition: $("disposition").value, note: $("resolve-note").value })
      .then(function () { $("resolve-note").value = ""; })
      .catch(function (error) { $("resolve-error").textContent = error.message; });
  });

  // -- start ------------------------------------------------------------------------------------------------

  api("GET", "/agent/api/me").then(function (data) {
    config = data;
    me = data.agent;
    data.canned_replies.forEach(function (c) { $("canned").appendChild(el("option", { value: c.text, text: c.title })); });
    Object.keys(data.dispositions).forEach(function (key) { $("disposition").appendChild(el("option", { value: key, text: data.dispositions[key] })); });
    connect();
  });
})();
