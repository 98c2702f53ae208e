// src/version.js
var VERSION = "0.1.0";

// src/tracker.js
var P = "ecrm_";
var EC = "productViewed productAdded productRemoved productClicked productListViewed cartViewed checkoutStarted orderCompleted productsSearched";
function createTracker(w, src) {
  var doc = w.document;
  var nav = w.navigator || {};
  var loc = w.location;
  var api = { __ecrm: 1 };
  var pending = [];
  var queue = [];
  var attempt = 0;
  var ref = doc.referrer;
  var ls, o, key, host, rhost, aid, uid, sess, cons, dnt, timer, inflight;
  try {
    ls = w.localStorage;
  } catch (e) {
  }
  function now() {
    return w.Date.now();
  }
  function iso() {
    return new Date(now()).toISOString();
  }
  function url() {
    return loc.href.split("#")[0];
  }
  function json(v) {
    return JSON.stringify(v);
  }
  function size(v) {
    return encodeURI(json(v)).length;
  }
  function uuid() {
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function(c) {
      return (c ^ Math.random() * 16 >> c / 4).toString(16);
    });
  }
  function call(u, opts) {
    return new Promise(function(r) {
      r(w.fetch(u, opts));
    });
  }
  function base(h) {
    return h.replace(/\/+$/, "");
  }
  function guard(f) {
    return function() {
      try {
        return f.apply(api, arguments);
      } catch (e) {
      }
    };
  }
  function get(k) {
    try {
      return JSON.parse(ls.getItem(P + k));
    } catch (e) {
    }
  }
  function put(k, v) {
    try {
      v == null ? ls.removeItem(P + k) : ls.setItem(P + k, json(v));
    } catch (e) {
    }
  }
  function cookie(v) {
    try {
      if (v == null) return (doc.cookie.match(/\becrm_aid=([\w-]+)/) || 0)[1];
      doc.cookie = P + "aid=" + v + ";path=/;max-age=" + (v ? 34128e3 : 0) + ";samesite=lax" + (loc.protocol == "https:" ? ";secure" : "");
    } catch (e) {
    }
  }
  function blocked() {
    return dnt || cons && !cons.analytics;
  }
  function allowed() {
    return !blocked() && (cons || !o.requireConsent);
  }
  function store(on) {
    put("aid", on && aid);
    put("uid", on && uid);
    put("s", on && sess);
    put("q", on && queue);
    cookie(on ? aid : "");
  }
  function persist() {
    allowed() && store(1);
  }
  function wipe() {
    queue = [];
    store();
  }
  function fresh() {
    aid = uuid();
    sess = null;
    persist();
  }
  function session() {
    var t = now();
    var s = allowed() && get("s") || sess;
    var c, q = new URLSearchParams(loc.search);
    "source medium campaign term content".split(" ").forEach(function(k) {
      var v = q.get("utm_" + k);
      if (v) (c = c || {})[k == "campaign" ? "name" : k] = v;
    });
    if (!s || t - s.t > 18e5) s = { id: t, c };
    else if (c) s.c = c;
    s.t = t;
    return sess = s;
  }
  function pageCtx() {
    return { path: loc.pathname, referrer: ref, search: loc.search, title: doc.title, url: url() };
  }
  function send(type, f) {
    if (blocked()) return;
    var s = session();
    var ev = Object.assign({
      type,
      messageId: uuid(),
      anonymousId: aid,
      userId: uid || void 0,
      timestamp: iso(),
      context: {
        page: pageCtx(),
        userAgent: nav.userAgent,
        locale: nav.language,
        library: { name: "ecrm.js", version: VERSION },
        campaign: s.c,
        sessionId: s.id
      }
    }, f);
    if (size(ev) > 32e3) return;
    queue.push(ev);
    queue.splice(0, queue.length - o.maxQueue);
    persist();
    attempt || queue.length < o.flushAt ? schedule(o.flushInterval) : flush();
  }
  function schedule(ms) {
    timer || (timer = w.setTimeout(function() {
      timer = 0;
      try {
        flush();
      } catch (e) {
      }
    }, ms));
  }
  function take(skip) {
    for (var b = [], n = 0, i = 0, e; (e = queue[i++]) && (n += size(e)) < 6e4; ) skip && skip.indexOf(e) >= 0 || b.push(e) && (e.context.consent = cons && { categoryPreferences: cons });
    return b;
  }
  function body(b) {
    return json({ writeKey: key, batch: b, sentAt: iso() });
  }
  function done(b) {
    queue = queue.filter(function(e) {
      return b.indexOf(e) < 0;
    });
    persist();
  }
  function flush() {
    if (inflight || !allowed() || !queue.length) return;
    var b = take();
    inflight = b;
    call(host + "/v1/batch", { method: "POST", body: body(b), keepalive: true, credentials: "include" }).then(function(r) {
      if (r.status > 499) throw 0;
      attempt = 0;
      done(b);
    }).catch(function() {
      attempt++;
      w.clearTimeout(timer);
      timer = 0;
    }).then(function() {
      inflight = 0;
      queue.length && schedule(attempt ? Math.min(3e4, 500 * 2 ** attempt) * (1 + Math.random()) : 0);
    });
  }
  function beacon() {
    if (!allowed() || attempt) return;
    for (var b; (b = take(inflight)).length && nav.sendBeacon && nav.sendBeacon(host + "/v1/batch", body(b)); ) done(b);
  }
  function opt(g) {
    api.consent(g);
    call(host + "/v1/opt" + (g ? "in" : "out"), { credentials: "include" }).catch(Object);
  }
  function req(path, p) {
    var q = new URLSearchParams();
    p = Object.assign({}, p, allowed() && { anonymousId: aid, userId: uid }, { writeKey: key });
    for (var k in p) p[k] != null && q.append(k, p[k]);
    return call(rhost + "/v1/" + path + "?" + q).then(function(r) {
      return r.ok ? r.json() : null;
    }).catch(function() {
      return null;
    });
  }
  function ok(u, img) {
    try {
      return u && (/^https?:/.test(new URL(u, loc.href)) || img && /^data:image\//.test(u));
    } catch (e) {
    }
  }
  function mk(parent, tag, cls) {
    var e = doc.createElement(tag);
    cls && e.setAttribute("class", "ecrm-" + cls);
    return parent.appendChild(e);
  }
  var M = {
    load: function(k, opts) {
      if (o) return;
      o = Object.assign({ flushAt: 10, flushInterval: 1e3, maxQueue: 100 }, opts);
      key = k;
      host = base(o.host || (src ? new URL(src).origin : loc.origin));
      rhost = base(o.recommendHost || host);
      cons = get("consent") || void 0;
      dnt = o.honorDNT && nav.doNotTrack == 1 || o.honorGPC && nav.globalPrivacyControl;
      if (allowed()) {
        aid = cookie() || get("aid");
        uid = get("uid");
        sess = get("s");
        queue = [].concat(get("q") || []);
      }
      aid = aid || uuid();
      blocked() ? wipe() : persist();
      var bye = guard(beacon);
      w.addEventListener("pagehide", bye);
      doc.addEventListener("visibilitychange", bye);
      if (o.spa) {
        var h = w.history;
        var last = url();
        var chg = guard(function() {
          w.setTimeout(function() {
            var u = url();
            if (u != last) {
              ref = last;
              last = u;
              api.page();
            }
          }, 0);
        });
        ["pushState", "replaceState"].forEach(function(m) {
          var f = h[m];
          h[m] = function() {
            var r = f.apply(this, arguments);
            chg();
            return r;
          };
        });
        w.addEventListener("popstate", chg);
      }
      pending.splice(0).forEach(function(c) {
        c[2](api[c[0]].apply(api, c[1]));
      });
      queue.length && schedule(0);
      api.render();
      doc.addEventListener("DOMContentLoaded", function() {
        api.render();
      });
    },
    page: function(name, props) {
      if (name && typeof name == "object") {
        props = name;
        name = void 0;
      }
      send("page", { name, properties: Object.assign(pageCtx(), name && { name }, props) });
    },
    track: function(event, props) {
      send("track", { event, properties: props || {} });
    },
    identify: function(id, traits) {
      if (id && typeof id == "object") {
        traits = id;
        id = uid;
      }
      id = /^(null|undefined|0|-1|anonymous|)$/i.test(id) ? uid : "" + id;
      var prev = uid;
      uid = id;
      prev && prev != id && fresh();
      send("identify", { traits: traits || {} });
    },
    alias: function(id, prev) {
      send("alias", { userId: "" + id, previousId: prev || uid || aid });
    },
    reset: function() {
      uid = null;
      fresh();
    },
    consent: function(g) {
      cons = g && typeof g == "object" ? g : { analytics: !!g };
      put("consent", cons);
      if (blocked()) wipe();
      else {
        persist();
        flush();
      }
    },
    optOut: function() {
      opt(0);
    },
    optIn: function() {
      opt(1);
    },
    flush,
    user: function() {
      return { anonymousId: aid, userId: uid };
    },
    recommend: function(p) {
      return req("recommend", p);
    },
    decide: function(placement, p) {
      return req("decide", Object.assign({ placement }, p));
    },
    render: function(root) {
      [].forEach.call((root || doc).querySelectorAll("[data-ecrm-recommend]"), function(el) {
        function a(n) {
          return el.getAttribute("data-ecrm-" + n);
        }
        var t = a("recommend");
        var p = { type: t, item: a("item"), n: a("n") || 4 };
        var sig = json(p);
        if (el._ecrm == sig) return;
        el._ecrm = sig;
        api.recommend(p).then(guard(function(r) {
          var items = r && (r.items || r);
          if (!items || !items.length) return;
          el.textContent = "";
          items.forEach(function(it) {
            var l = mk(el, "a", "item");
            var pr = it.price;
            var img;
            ok(it.url) && l.setAttribute("href", it.url);
            if (ok(it.image, 1)) {
              img = mk(l, "img");
              img.setAttribute("src", it.image);
              img.setAttribute("alt", it.name || "");
            }
            mk(l, "span", "name").textContent = it.name || "";
            if (pr != null) mk(l, "span", "price").textContent = pr.toFixed ? pr.toFixed(2) : pr;
            l.onclick = function() {
              api.productClicked({ product_id: it.id, list_id: t });
            };
          });
        }));
      });
    }
  };
  EC.split(" ").forEach(function(k) {
    var ev = k[0].toUpperCase() + k.slice(1).replace(/[A-Z]/g, " $&");
    M[k] = function(p) {
      M.track(ev, typeof p == "string" ? { query: p } : Array.isArray(p) ? { products: p } : p);
    };
  });
  Object.keys(M).forEach(function(k) {
    var f = guard(M[k]);
    api[k] = function() {
      var a = arguments;
      return o || k == "load" ? f.apply(api, a) : new Promise(function(r) {
        pending.push([k, a, r]);
      });
    };
  });
  return api;
}

// src/install.js
function install(w, script) {
  var q = w.ecrm;
  if (q && q.__ecrm) return q;
  var t = w.ecrm = createTracker(w, script && script.src);
  if (!Array.isArray(q)) q = [];
  Object.assign(q, t);
  q.forEach(function(c) {
    var f = t[c[0]];
    var r = f && f.apply(t, [].slice.call(c, 1));
    c.r && c.r(r);
  });
  return t;
}
export {
  VERSION,
  createTracker,
  install
};
