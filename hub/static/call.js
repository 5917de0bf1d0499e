/*
 * kefu video calls: the WebRTC part shared by the customer widget and the agent console. No libraries, only
 * the browser's getUserMedia and RTCPeerConnection. Signalling travels over the page's own hub websocket (the
 * page passes a send function); the hub relays it only between a customer and their interpreter, who is
 * always the caller. Frames: see hub/services/video.py.
 *
 *   KefuCall.openMedia()          → Promise<MediaStream>; rejects with an Error whose .reason is no_camera,
 *                                   permission_denied or unsupported (what rtc_fallback reports)
 *   new KefuCall.Peer(options)    one RTCPeerConnection; options: iceServers, stream, send(frame),
 *                                   onRemoteStream(stream), onState(connectionState)
 *     .call()                     interpreter: make an offer under a new call id
 *     .answer(offerFrame)         customer: answer an rtc_offer
 *     .accept(answerFrame)        interpreter: take the rtc_answer of the current call
 *     .addCandidate(frame)        either: an rtc_candidate (held until the remote description is set)
 *     .close()
 *   KefuCall.setEnabled(stream, "audio" | "video", on)   mute / unmute without renegotiating
 *   KefuCall.play(video, stream)  → Promise<boolean muted>: autoplay with sound may be refused; then muted
 *   KefuCall.stop(stream)         release camera and microphone
 */
(function () {
  "use strict";
  if (window.KefuCall) return;

  function supported() {
    return !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.RTCPeerConnection);
  }

  function failure(reason, cause) {
    var error = new Error(reason);
    error.reason = reason;
    error.cause = cause;
    return error;
  }

  function reasonFor(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return "permission_denied";
    if (name === "TypeError") return "unsupported";
    return "no_camera"; // NotFoundError, OverconstrainedError, NotReadableError (camera in use), AbortError
  }

  // Camera and microphone; a camera alone will do (sign language is seen, not heard).
  function openMedia() {
    if (!supported()) return Promise.reject(failure("unsupported"));
    var devices = navigator.mediaDevices;
    return devices.getUserMedia({ video: true, audio: true }).catch(function (error) {
      var reason = reasonFor(error);
      if (reason !== "no_camera") throw failure(reason, error);
      return devices.getUserMedia({ video: true, audio: false }).catch(function (second) {
        throw failure(reasonFor(second), second);
      });
    });
  }

  function newCallId() {
    var random = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now();
    return "call-" + random.replace(/[^A-Za-z0-9-]/g, "").slice(0, 40);
  }

  function Peer(options) {
    var self = this;
    this.options = options;
    this.callId = null;
    this.remoteSet = false;
    this.described = false; // our offer/answer went out: candidates may follow it
    this.incoming = [];
    this.outgoing = [];
    var pc = this.pc = new RTCPeerConnection({ iceServers: options.iceServers || [] });
    options.stream.getTracks().forEach(function (track) { pc.addTrack(track, options.stream); });
    pc.onicecandidate = function (event) {
      if (!event.candidate || !self.callId) return; // null: gathering finished, nothing to tell
      var frame = { type: "rtc_candidate", call_id: self.callId, candidate: event.candidate.toJSON() };
      if (self.described) options.send(frame); else self.outgoing.push(frame);
    };
    pc.ontrack = function (event) {
      options.onRemoteStream(event.streams && event.streams[0] ? event.streams[0] : new MediaStream([event.track]));
    };
    pc.onconnectionstatechange = function () { options.onState(pc.connectionState); };
  }

  Peer.prototype.describe = function (type) {
    this.options.send({ type: type, call_id: this.callId, sdp: this.pc.localDescription.sdp });
    this.described = true;
    var send = this.options.send;
    this.outgoing.splice(0).forEach(function (frame) { send(frame); });
  };

  Peer.prototype.remoteDescribed = function () {
    this.remoteSet = true;
    var pc = this.pc;
    this.incoming.splice(0).forEach(function (candidate) { pc.addIceCandidate(candidate).catch(function () {}); });
  };

  Peer.prototype.call = function () {
    var self = this;
    this.callId = newCallId();
    return this.pc.createOffer()
      .then(function (offer) { return self.pc.setLocalDescription(offer); })
      .then(function () { self.describe("rtc_offer"); });
  };

  Peer.prototype.answer = function (frame) {
    var self = this;
    this.callId = frame.call_id;
    return this.pc.setRemoteDescription({ type: "offer", sdp: frame.sdp })
      .then(function () { self.remoteDescribed(); return self.pc.createAnswer(); })
      .then(function (answer) { return self.pc.setLocalDescription(answer); })
      .then(function () { self.describe("rtc_answer"); });
  };

  Peer.prototype.accept = function (frame) {
    if (frame.call_id !== this.callId || this.remoteSet) return Promise.resolve();
    var self = this;
    return this.pc.setRemoteDescription({ type: "answer", sdp: frame.sdp }).then(function () { self.remoteDescribed(); });
  };

  Peer.prototype.addCandidate = function (frame) {
    if (frame.call_id !== this.callId || !frame.candidate) return; // a stale call's candidate
    if (this.remoteSet) this.pc.addIceCandidate(frame.candidate).catch(function () {});
    else this.incoming.push(frame.candidate);
  };

  Peer.prototype.close = function () {
    this.pc.onicecandidate = this.pc.ontrack = this.pc.onconnectionstatechange = null;
    this.pc.close();
  };

  function setEnabled(stream, kind, on) {
    var tracks = kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks();
    tracks.forEach(function (track) { track.enabled = on; });
    return tracks.length > 0;
  }

  function play(video, stream) {
    video.srcObject = stream;
    var started = video.play();
    if (!started || !started.then) return Promise.resolve(video.muted);
    return started.then(function () { return video.muted; }).catch(function () {
      video.muted = true; // the browser wants a click before it plays sound; the picture matters most
      return video.play().then(function () { return true; }, function () { return true; });
    });
  }

  function stop(stream) {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
  }

  window.KefuCall = { supported: supported, openMedia: openMedia, Peer: Peer, setEnabled: setEnabled, play: play, stop: stop };
})();
