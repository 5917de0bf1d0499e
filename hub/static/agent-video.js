/*
 * kefu agent console: the sign-language video call and the identity check (uses call.js).
 *
 * When the interpreter opens a sign-language conversation they hold, the console opens the camera and says
 * rtc_ready; the customer's widget answers with its own rtc_ready (peer_id), and the console, always the
 * caller, makes the offer. A customer who reloads comes back with a new peer_id and is called again. A failed
 * connection is retried once, then both sides fall back to text (rtc_fallback), as when a camera is missing
 * or not allowed. Hang-up ends the video only; "结束服务" (resolve) ends the stay and returns the customer to
 * the bot. While the video is connected the interpreter can record that they checked the customer's identity.
 * Only one call at a time: the panel stays with its conversation while the interpreter looks at others.
 */
(function () {
  "use strict";

  var MAX_DIAL_ATTEMPTS = 2; // a failed connection is tried once more with a fresh one before falling back

  var $ = function (id) { return document.getElementById(id); };

  function newId(prefix) {
    var random = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now();
    return prefix + "-" + random.replace(/[^A-Za-z0-9-]/g, "").slice(0, 40);
  }

  // options: send(frame), api(method, path, body), select(conversationId), label(customerId), iceServers(),
  // fallbackTexts() (reason → what to show when our own camera fails; hub/texts.py), timeZone() (the hub's)
  function create(options) {
    var call = null; // the open video panel: { conversationId, customerId, stream, peer, remotePeerId, ... }
    var readyBefore = {}; // conversation id → a customer peer_id that said rtc_ready before its panel opened
    var endedBefore = {}; // conversation id → why the customer's video ended before its panel opened
    var myPeerId = newId("a");

    function setStatus(text) { $("video-status").textContent = text; }
    function setState(value) { $("video").setAttribute("data-state", value); }

    function setControls(live) {
      var stream = call && call.stream;
      $("video-mic").disabled = !live || !stream || stream.getAudioTracks().length === 0;
      $("video-camera").disabled = !live;
      $("video-hangup").disabled = !live;
      $("video-mic").hidden = $("video-camera").hidden = $("video-hangup").hidden = !live; // text mode: "restart" only
      $("video-mic").setAttribute("aria-pressed", String(!!(live && !call.micOn)));
      $("video-camera").setAttribute("aria-pressed", String(!!(live && !call.cameraOn)));
    }

    function closePeer() {
      if (call && call.peer) { call.peer.close(); call.peer = null; }
      if (call) call.connected = false;
      $("remote-video").srcObject = null;
      $("peer-state").textContent = "";
      $("video-unmute").hidden = true;
    }

    function releaseCamera() {
      if (call) call.opening = null; // a camera still opening is not wanted any more
      if (call && call.stream) { KefuCall.stop(call.stream); call.stream = null; }
      $("local-video").srcObject = null;
    }

    function showTiles(visible) {
      Array.prototype.forEach.call(document.querySelectorAll("#video .tile"), function (tile) { tile.hidden = !visible; });
    }

    // -- identity check -----------------------------------------------------------------------------------

    function renderIdentity() {
      var form = $("identity");
      var check = call && call.identityCheck;
      form.classList.toggle("done", !!check);
      $("identity-confirm").disabled = !!check;
      $("identity-confirm").checked = !!check;
      $("identity-submit").disabled = !call || !!check || !call.connected || !call.customerId;
      if (check) {
        var at = new Date(check.checked_at).toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: options.timeZone() });
        $("identity-status").textContent = "已核验：" + check.agent_name + " · " + at + "（视频）。结束服务后机器人将继续办理。";
      } else if (call && !call.customerId) {
        $("identity-status").textContent = "访客未登录，无法核验身份。";
      } else {
        $("identity-status").textContent = call && call.connected ? "请在视频中核对客户本人与身份证件后记录。" : "视频接通后可核验身份。";
      }
    }

    $("identity").addEventListener("submit", function (event) {
      event.preventDefault();
      if (!call) return;
      var session = call;
      $("identity-error").textContent = "";
      options.api("POST", "/agent/api/conversations/" + encodeURIComponent(session.conversationId) + "/identity-check", { method: "video" })
        .then(function (data) {
          session.identityCheck = data.identity_check;
          if (call === session) renderIdentity();
        })
        .catch(function (error) { $("identity-error").textContent = error.message; });
    });

    // -- the call ----------------------------------------------------------------------------------------------

    // The last video notice of the current stay in the transcript, e.g. after a reload of the console.
    function endedInTranscript(detail) {
      var handoffId = detail.handoff && detail.handoff.id;
      for (var i = detail.messages.length - 1; i >= 0; i -= 1) {
        var data = detail.messages[i].data || {};
        if ((data.event === "video_fallback" || data.event === "video_ended") && data.handoff_id === handoffId) {
          return data.agent_text || detail.messages[i].text;
        }
      }
      return null;
    }

    function customerEnded(frame) {
      return frame.notice || "视频通话已结束，可继续文字沟通。"; // the hub's notice, as stored in the transcript
    }

    function open(conversationId, detail) {
      var earlier = endedBefore[conversationId] || (readyBefore[conversationId] ? null : endedInTranscript(detail));
      delete endedBefore[conversationId];
      call = {
        conversationId: conversationId, customerId: detail.conversation.customer_id, stream: null, peer: null,
        remotePeerId: readyBefore[conversationId] || null, calledPeerId: null, attempts: 0,
        micOn: false, cameraOn: false, connected: false, identityCheck: detail.identity_check,
      };
      delete readyBefore[conversationId];
      $("video-title").textContent = "手语视频 · " + options.label(call.customerId);
      $("remote-caption").textContent = options.label(call.customerId);
      $("identity-error").textContent = "";
      $("video").hidden = false;
      renderIdentity();
      if (earlier) ended(earlier, true); // the video already ended in this stay: restart only when asked
      else startCamera();
    }

    function finish() { // the stay ended or moved on: release everything and hide the panel
      closePeer();
      releaseCamera();
      call = null;
      $("video").hidden = true;
      setState("idle");
    }

    function startCamera() {
      var session = call;
      closePeer();
      releaseCamera();
      var opening = session.opening = {};
      session.calledPeerId = null;
      session.attempts = 0;
      showTiles(true);
      $("video-restart").hidden = true;
      setControls(false);
      setState("starting");
      setStatus("正在打开摄像头…");
      KefuCall.openMedia().then(function (stream) {
        if (call !== session || session.opening !== opening) { KefuCall.stop(stream); return; }
        session.opening = null;
        session.stream = stream;
        session.micOn = stream.getAudioTracks().length > 0;
        session.cameraOn = true;
        KefuCall.play($("local-video"), stream);
        setControls(true);
        setState("waiting");
        setStatus("摄像头已打开，等待客户接通视频…");
        options.send({ type: "rtc_ready", conversation_id: session.conversationId, peer_id: myPeerId, audio: session.micOn, video: true });
        if (session.remotePeerId) dial();
      }).catch(function (error) {
        if (call === session && session.opening === opening) fallBack((error && error.reason) || "no_camera");
      });
    }

    function dial() {
      var session = call;
      closePeer();
      session.calledPeerId = session.remotePeerId;
      var peer = session.peer = new KefuCall.Peer({
        iceServers: options.iceServers(),
        stream: session.stream,
        send: function (frame) { frame.conversation_id = session.conversationId; options.send(frame); },
        onRemoteStream: function (stream) {
          KefuCall.play($("remote-video"), stream).then(function (muted) { $("video-unmute").hidden = !muted; });
        },
        onState: function (state) { if (call === session && session.peer === peer) peerState(session, state); },
      });
      setState("connecting");
      setStatus("正在接通视频…");
      peer.call().catch(function () { if (session.peer === peer) peerState(session, "failed"); });
    }

    function peerState(session, state) {
      setState(state);
      session.connected = state === "connected";
      if (state === "connected") {
        session.attempts = 0;
        setStatus("视频已接通");
      } else if (state === "disconnected") {
        setStatus("视频连接不稳定，正在重新连接…");
      } else if (state === "failed") {
        session.attempts += 1;
        if (session.attempts < MAX_DIAL_ATTEMPTS) dial(); else fallBack("connection_failed");
      }
      renderIdentity();
    }

    function ended(text, canRestart) {
      closePeer();
      releaseCamera();
      showTiles(false);
      setControls(false);
      setState("ended");
      setStatus(text);
      $("video-restart").hidden = !canRestart;
      renderIdentity();
    }

    function fallBack(reason) {
      options.send({ type: "rtc_fallback", conversation_id: call.conversationId, reason: reason });
      ended(options.fallbackTexts()[reason] || "已切换为文字服务。", reason !== "unsupported");
    }

    function toggle(kind) {
      if (!call || !call.stream) return;
      var on = kind === "audio" ? !call.micOn : !call.cameraOn;
      KefuCall.setEnabled(call.stream, kind, on);
      if (kind === "audio") call.micOn = on; else call.cameraOn = on;
      setControls(true);
      options.send({ type: "rtc_media", conversation_id: call.conversationId, audio: call.micOn, video: call.cameraOn });
    }

    $("video-mic").addEventListener("click", function () { toggle("audio"); });
    $("video-camera").addEventListener("click", function () { toggle("video"); });
    $("video-hangup").addEventListener("click", function () {
      if (!call) return;
      options.send({ type: "rtc_hangup", conversation_id: call.conversationId });
      ended("您已结束视频通话，可继续文字沟通；服务完成后请点击“结束服务”。", true);
      $("video-restart").focus();
    });
    $("video-restart").addEventListener("click", function () { if (call) startCamera(); });
    $("video-unmute").addEventListener("click", function () {
      var remote = $("remote-video");
      remote.muted = false;
      remote.play().catch(function () { /* still refused */ });
      $("video-unmute").hidden = true;
    });

    // -- what agent.js tells us -----------------------------------------------------------------------------

    // A conversation was opened (or its detail reloaded): open the video for a sign-language stay we hold.
    function conversationShown(conversationId, detail, isMine) {
      var isVideo = isMine && detail.conversation.status === "agent" && detail.conversation.channel === "video";
      if (call && call.conversationId === conversationId) {
        if (!isVideo) { finish(); return; }
        call.identityCheck = detail.identity_check || call.identityCheck;
        renderIdentity();
        return;
      }
      if (!call && isVideo) open(conversationId, detail);
    }

    function mineChanged(mine) {
      if (call && !mine.some(function (c) { return c.conversation_id === call.conversationId; })) finish();
    }

    // Signalling from a customer (the hub only sends us our own customers').
    function handle(frame) {
      var conversationId = frame.conversation_id;
      if (!call || call.conversationId !== conversationId) {
        if (frame.type === "rtc_ready") {
          readyBefore[conversationId] = frame.peer_id;
          delete endedBefore[conversationId];
          if (!call) options.select(conversationId); // a customer's camera is on: open their conversation
        } else if (frame.type === "rtc_hangup" || frame.type === "rtc_fallback") {
          delete readyBefore[conversationId];
          endedBefore[conversationId] = customerEnded(frame);
        }
        return;
      }
      switch (frame.type) {
        case "rtc_ready":
          call.remotePeerId = frame.peer_id;
          if (!call.stream) setStatus("客户已打开摄像头。点击“重新开始视频”即可接通。");
          else if (call.calledPeerId !== frame.peer_id || !call.peer) dial();
          break;
        case "rtc_answer":
          if (call.peer) call.peer.accept(frame).catch(function () { peerState(call, "failed"); });
          break;
        case "rtc_candidate":
          if (call.peer) call.peer.addCandidate(frame);
          break;
        case "rtc_media":
          $("peer-state").textContent = [frame.video ? "" : "客户已关闭摄像头", frame.audio ? "" : "客户已关闭麦克风"]
            .filter(Boolean).join(" · ");
          break;
        case "rtc_hangup":
        case "rtc_fallback":
          call.remotePeerId = null;
          ended(customerEnded(frame), true);
          break;
        default:
          break;
      }
    }

    function error(message) {
      if (call) setStatus(message);
    }

    // The websocket is back: an rtc_ready sent while it was down is lost, so say it again if still waiting.
    function reconnected() {
      if (call && call.stream && !call.connected) {
        options.send({ type: "rtc_ready", conversation_id: call.conversationId, peer_id: myPeerId, audio: call.micOn, video: call.cameraOn });
      }
    }

    return { conversationShown: conversationShown, mineChanged: mineChanged, handle: handle, error: error, reconnected: reconnected };
  }

  window.KefuAgentVideo = { create: create };
})();
