/*
 * The classic QiSession browser API (qimessaging.js of NAOqi 1.14 and 2.x), over socket.io v4.
 * Served by the qimessaging gateway at /libs/qimessaging/2/qimessaging.js and /1.0/, after socket.io's
 * client, with QI_CLASSIC = { version, path, io } set by the server (src/web/classic/script.ts).
 * Plain ES5, so that old tablet browsers run it. Protocol and API: docs/web-classic.md.
 *
 * API 2:   new QiSession(connected, disconnected, host); session.service(name) -> Promise of a proxy;
 *          proxy.method(args...) -> Promise; proxy.signal.connect(cb) -> Promise of a link id;
 *          proxy.signal.disconnect(link); proxy.property.value() / .setValue(v) / .connect(cb).
 * API 1.0: new QiSession(host, resource); the same with jQuery-like Deferred promises (done, fail,
 *          always, then) and session.socket().
 */
/* global QI_CLASSIC */
var QiSession = (function (config) {
  'use strict';
  var io = config.io;
  var v1 = config.version === '1.0';

  // Where this script came from: by default the API is reached there (the page's host, as in the
  // original, when the script is loaded with a relative URL).
  var scriptOrigin = (function () {
    try {
      var s = document.currentScript;
      if (s && s.src) {
        var u = new URL(s.src, window.location.href);
        return u.protocol + '//' + u.host;
      }
    } catch (e) { /* old browser: use the page's host */ }
    return window.location.protocol + '//' + window.location.host;
  })();

  function originOf(host) {
    if (!host) return scriptOrigin;
    host = String(host);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(host)) return host.replace(/^ws/i, 'http').replace(/\/+$/, '');
    return (window.location.protocol === 'https:' ? 'https://' : 'http://') + host.replace(/\/+$/, '');
  }

  // A native Promise that also has the Deferred methods of API 1.0 (done, fail, always), on it and on
  // every promise derived from it with then().
  function decorate(p) {
    var then = p.then;
    p.then = function (ok, ko) { return decorate(then.call(p, ok, ko)); };
    p.done = function () {
      for (var i = 0; i < arguments.length; i++) if (typeof arguments[i] === 'function') then.call(p, arguments[i], function () {});
      return p;
    };
    p.fail = function () {
      for (var i = 0; i < arguments.length; i++) if (typeof arguments[i] === 'function') then.call(p, null, arguments[i]);
      return p;
    };
    p.always = function (f) { then.call(p, f, f); return p; };
    p.promise = function () { return p; };
    return p;
  }

  function QiSession(a, b, c) {
    if (!(this instanceof QiSession)) return new QiSession(a, b, c);
    var connected = v1 ? null : a;
    var disconnected = v1 ? null : b;
    var host = v1 ? a : c;
    var path = v1 && b ? '/' + String(b).replace(/^\/+/, '') : config.path;
    var self = this;
    // Reconnection with socket.io's randomised exponential backoff (1 s +-50 %, doubling up to 5 s), so
    // that the tabs left open on a restarting robot do not all come back at the same instant.
    var socket = io(originOf(host), {
      path: path, forceNew: true, transports: ['websocket', 'polling'], tryAllTransports: true,
      reconnection: true, reconnectionDelay: 1000, reconnectionDelayMax: 5000, randomizationFactor: 0.5
    });
    var pending = {};
    var sigs = {};
    var idm = 0;

    function call(obj, member, args, subscription) {
      var id = ++idm;
      var entry = { subscription: subscription };
      var p = decorate(new Promise(function (resolve, reject) {
        entry.resolve = resolve;
        entry.reject = reject;
      }));
      pending[id] = entry;
      var params = v1 ? { obj: obj, method: member, args: args } : { obj: obj, member: member, args: args };
      socket.emit('call', { idm: id, params: params });
      return p;
    }

    function metaCall(obj, member) {
      return function () {
        return call(obj, member, Array.prototype.slice.call(arguments, 0));
      };
    }

    function metaSignal(obj, name, isProperty) {
      var s = {};
      s.connect = function (cb) {
        var sub = { obj: obj, signal: name, cb: cb };
        return v1 ? call(obj, 'registerEvent', [name], sub) : call(obj, name, ['connect'], sub);
      };
      s.disconnect = function (link) {
        if (sigs[obj] && sigs[obj][name]) delete sigs[obj][name][link];
        return v1 ? call(obj, 'unregisterEvent', [name, link]) : call(obj, name, ['disconnect', link]);
      };
      if (isProperty) {
        s.value = function () { return call(obj, name, ['value']); };
        s.setValue = function (v) { return call(obj, name, ['setValue', v]); };
      }
      return s;
    }

    function proxy(pyobject, meta) {
      var o = { __MetaObject: meta };
      var i;
      for (i in meta.methods) if (Object.prototype.hasOwnProperty.call(meta.methods, i)) o[meta.methods[i].name] = metaCall(pyobject, meta.methods[i].name);
      for (i in meta.signals) if (Object.prototype.hasOwnProperty.call(meta.signals, i)) o[meta.signals[i].name] = metaSignal(pyobject, meta.signals[i].name, false);
      if (!v1) {
        for (i in meta.properties) if (Object.prototype.hasOwnProperty.call(meta.properties, i)) o[meta.properties[i].name] = metaSignal(pyobject, meta.properties[i].name, true);
      }
      return o;
    }

    socket.on('reply', function (data) {
      var entry = data && pending[data.idm];
      if (!entry) return;
      delete pending[data.idm];
      var result = data.result;
      if (result !== null && typeof result === 'object' && result.metaobject !== undefined) {
        entry.resolve(proxy(result.pyobject, result.metaobject));
        return;
      }
      var sub = entry.subscription;
      if (sub) {
        sigs[sub.obj] = sigs[sub.obj] || {};
        sigs[sub.obj][sub.signal] = sigs[sub.obj][sub.signal] || {};
        sigs[sub.obj][sub.signal][result] = sub.cb;
      }
      entry.resolve(result);
    });

    socket.on('error', function (data) {
      var entry = data && data.idm !== undefined ? pending[data.idm] : undefined;
      if (!entry) return;
      delete pending[data.idm];
      entry.reject(data.result);
    });

    socket.on('signal', function (data) {
      var r = data && data.result;
      var cb = r && sigs[r.obj] && sigs[r.obj][r.signal] && sigs[r.obj][r.signal][r.link];
      if (typeof cb === 'function') cb.apply(self, r.data || []);
    });

    socket.on('disconnect', function () {
      for (var id in pending) {
        if (!Object.prototype.hasOwnProperty.call(pending, id)) continue;
        pending[id].reject('Call ' + id + ' canceled: disconnected');
        delete pending[id];
      }
      sigs = {}; // the server dropped every subscription with the connection
      if (typeof disconnected === 'function') disconnected();
    });

    socket.on('connect', function () {
      if (typeof connected === 'function') connected(self);
    });

    this.service = metaCall('ServiceDirectory', 'service');
    this.socket = function () { return socket; };
    this.disconnect = function () { socket.disconnect(); };
  }

  return QiSession;
})(QI_CLASSIC);

window.QiSession = QiSession;
