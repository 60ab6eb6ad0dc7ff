// sandvm-template runtime prelude. Runs inside the sandbox, once per context, before any
// guest code (helpers, helper scripts, lambdas).
// Defines `Handlebars` (the helper-facing API) and the host's entry points `__svt_config`
// (one-shot), `__svt_def` and `__svt_render`. The runtime itself (`R`, `M`) is private:
// template code compiled by the host receives it as arguments. The host hook
// `__svt_compile` is captured here and removed from the global object, so guest code cannot
// call it. Entry points that hand out the runtime need the host's secret token, and only
// errors raised by this runtime leave it carrying that token: a guest cannot forge them.
(function (G) {
  "use strict";
  var hasOwn = Object.prototype.hasOwnProperty;
  var isArray = Array.isArray;
  var defineProperty = Object.defineProperty;
  var freeze = Object.freeze;
  var create = Object.create;
  var geval = G.eval;
  var hostCompileFn = G.__svt_compile;
  delete G.__svt_compile;
  // The host's secret (set once by `__svt_config`).
  var TOKEN = null;
  // Errors raised by this runtime (never by guest code).
  var genuine = new WeakSet();

  var R = {
    max: 1048576, // output limit in characters, set by the host
    strict: false,
    noEscape: false,
    loc: null, // position of the helper being called, for error messages
  };

  // --- errors -------------------------------------------------------------------------
  // Template errors are thrown as frozen plain (non-Error) objects: {svt: kind, message,
  // line, column, name?}, remembered in `genuine`. When one leaves the runtime (`exit`), a
  // copy carrying the host's token is thrown, so that the host gets it as a JSON value and
  // can tell it from a look-alike thrown by a helper.
  function TErr(kind, message, loc, extra) {
    var e = { svt: kind, message: message };
    if (loc) {
      e.line = loc[0];
      e.column = loc[1];
      // handlebars.js' form: 0-based column (`e.column` stays 1-based for the host).
      e.message = message + " - " + loc[0] + ":" + (loc[1] - 1);
    }
    if (extra) {
      for (var k in extra) if (hasOwn.call(extra, k)) e[k] = extra[k];
    }
    genuine.add(e);
    return freeze(e);
  }
  // The value to throw to the host for `e`: a genuine error becomes a copy carrying the
  // token; anything else passes unchanged (the host then reports it as an exception).
  function exit(e) {
    if (!genuine.has(e)) return e;
    // No prototype: no inherited setter or `toJSON` (guest code may have added one to
    // `Object.prototype`) ever sees the token.
    var o = create(null);
    for (var k in e) if (hasOwn.call(e, k)) o[k] = e[k];
    o.token = TOKEN;
    return o;
  }
  function isLimit(e) {
    return (
      e instanceof Error &&
      (e.name === "InternalError" ||
        e.message === "out of memory" ||
        e.message === "Maximum call stack size exceeded" ||
        e.message === "stack overflow" ||
        e.message === "interrupted")
    );
  }
  R.err = TErr;
  R.ol = function () {
    throw TErr("output_limit", "output limit exceeded");
  };

  // --- escaping (exactly as handlebars.js) --------------------------------------------
  var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "`": "&#x60;", "=": "&#x3D;" };
  // RegExp objects are built at run time: scripts compiled by the host may not contain
  // regexp literals.
  var BAD = new RegExp("[&<>\"'`=]", "g");
  var POSSIBLE = new RegExp("[&<>\"'`=]");
  function escChar(c) {
    return ESC[c];
  }
  // Native `replaceAll`s (`&` first), no regular expression: measured faster in QuickJS than
  // a replace callback, a charCode loop, or a regexp pre-test (whose match result is an
  // allocated array). `replaceAll` returns its input as is when the character is absent.
  var escStr =
    typeof "".replaceAll === "function"
      ? function (s) {
          return s
            .replaceAll("&", "&amp;")
            .replaceAll("<", "&lt;")
            .replaceAll(">", "&gt;")
            .replaceAll('"', "&quot;")
            .replaceAll("'", "&#x27;")
            .replaceAll("`", "&#x60;")
            .replaceAll("=", "&#x3D;");
        }
      : function (s) {
          if (!POSSIBLE.test(s)) return s;
          return s.replace(BAD, escChar);
        };
  function escapeExpression(s) {
    if (typeof s !== "string") {
      if (s && typeof s.toHTML === "function") return s.toHTML();
      else if (s == null) return "";
      else if (!s) return s + "";
      s = "" + s;
    }
    return escStr(s);
  }
  R.esc = function (v) {
    if (typeof v === "string") return R.noEscape ? v : escStr(v);
    return R.noEscape ? (v != null ? "" + v : "") : escapeExpression(v);
  };
  R.raw = function (v) {
    return v != null ? "" + v : "";
  };

  function SafeString(s) {
    this.string = s;
  }
  SafeString.prototype.toString = SafeString.prototype.toHTML = function () {
    return "" + this.string;
  };

  function isEmpty(v) {
    if (!v && v !== 0) return true;
    if (isArray(v) && v.length === 0) return true;
    return false;
  }
  function extend(obj) {
    for (var i = 1; i < arguments.length; i++) {
      var src = arguments[i];
      for (var key in src) {
        if (hasOwn.call(src, key)) obj[key] = src[key];
      }
    }
    return obj;
  }
  function createFrame(obj) {
    var frame = extend({}, obj);
    frame._parent = obj;
    return frame;
  }
  R.frame = createFrame;

  // --- lookups --------------------------------------------------------------------------
  // Only own properties are visible to templates (handlebars.js' default prototype access
  // rules): `{{constructor}}`, `{{__proto__}}` resolve to nothing.
  // With the runtime options `allowProto*` (`PA`, set for one render), inherited properties
  // are visible as handlebars.js' `lookupProperty` decides.
  var PA = null;
  function lookupProperty(parent, name) {
    if (parent == null) return undefined;
    var t = typeof parent;
    if (t !== "object" && t !== "function" && t !== "string") return PA ? protoLookup(parent, name) : undefined;
    if (hasOwn.call(parent, name)) return parent[name];
    return PA ? protoLookup(parent, name) : undefined;
  }
  function protoLookup(parent, name) {
    var result = parent[name];
    if (result == null) return result;
    var ac = typeof result === "function" ? PA.methods : PA.props;
    var w = ac.list[name];
    if (w !== undefined) return w === true ? result : undefined;
    return ac.dflt === true ? result : undefined;
  }
  // handlebars.js' `createProtoAccessControl`: explicit entries win over the defaults.
  function protoAccess(o) {
    var props = create(null);
    props.__proto__ = false;
    var methods = create(null);
    methods.constructor = false;
    methods.__defineGetter__ = false;
    methods.__defineSetter__ = false;
    methods.__lookupGetter__ = false;
    extend(props, o.props);
    extend(methods, o.methods);
    return { props: { list: props, dflt: !!o.propsDefault }, methods: { list: methods, dflt: !!o.methodsDefault } };
  }
  R.lp = lookupProperty;
  R.oh =
    typeof Object.hasOwn === "function"
      ? Object.hasOwn
      : function (o, k) {
          return hasOwn.call(o, k);
        };
  R.isA = isArray;
  // a.b.c: null-safe.
  R.lk = function (obj, parts) {
    for (var i = 0; i < parts.length; i++) {
      if (obj == null) return obj;
      var t = typeof obj;
      if ((t !== "object" && t !== "function" && t !== "string") || !hasOwn.call(obj, parts[i])) {
        obj = PA ? protoLookup(obj, parts[i]) : undefined;
      } else obj = obj[parts[i]];
    }
    return obj;
  };
  // `assumeObjects`: every segment is read from an object; a lookup through null/undefined
  // throws, as the unguarded property access of handlebars.js does.
  // handlebars.js' TypeError text; the position is kept in the typed fields only.
  function throughNull(obj, name, loc) {
    var msg = "Cannot read properties of " + obj + " (reading '" + name + "')";
    return TErr("template", msg, null, loc ? { line: loc[0], column: loc[1] } : null);
  }
  R.alk = function (obj, parts, loc) {
    for (var i = 0; i < parts.length; i++) {
      if (obj == null) throw throughNull(obj, parts[i], loc);
      obj = lookupProperty(obj, parts[i]);
    }
    return obj;
  };
  // `compat`: the first context (innermost first) where `name` is not null/undefined.
  R.dl = function (depths, name) {
    for (var i = 0; i < depths.length; i++) {
      var r = depths[i] && lookupProperty(depths[i], name);
      if (r != null) return r;
    }
    return undefined;
  };
  // Strict mode (handlebars.js' `strictLookup`): the segments before the last are read as
  // with `assumeObjects` (a TypeError through null/undefined); the last one, when `terminal`
  // (a value mustache), must exist: `"name" not defined in …`.
  R.slk = function (obj, parts, terminal, loc) {
    var n = terminal ? parts.length - 1 : parts.length;
    for (var i = 0; i < n; i++) {
      if (obj == null) throw throughNull(obj, parts[i], loc);
      obj = lookupProperty(obj, parts[i]);
    }
    if (terminal) {
      if (!obj || !(parts[n] in Object(obj))) {
        throw TErr("strict", '"' + parts[n] + '" not defined in ' + safeStr(obj), loc);
      }
      obj = lookupProperty(obj, parts[n]);
    }
    return obj;
  };
  function safeStr(v) {
    try {
      return "" + v;
    } catch (e) {
      return "[object]";
    }
  }
  R.dd = function (data, depth) {
    while (data && depth--) data = data._parent;
    return data;
  };

  // --- Handlebars ----------------------------------------------------------------------
  var helpers = Object.create(null);
  var partials = Object.create(null);
  var templates = Object.create(null);
  var pendingPartials = [];
  R.helpers = helpers;
  R.partials = partials;
  R.templates = templates;
  R.pendingPartials = pendingPartials;
  var nullContext = Object.seal({});
  function noop() {
    return "";
  }

  function makeOptions(name, hash, data, loc, fn, inverse, nbp) {
    var o = {
      name: name,
      hash: hash || {},
      data: data,
      loc: loc ? { start: { line: loc[0], column: loc[1] } } : undefined,
      lookupProperty: lookupProperty,
    };
    if (fn || inverse) {
      // `options.fn.blockParams`: the number of block parameters the block declares.
      if (fn) fn.blockParams = nbp || 0;
      o.fn = fn || noop;
      o.inverse = inverse || noop;
      o.blockParams = nbp || 0;
    }
    return o;
  }

  function checkOut(s) {
    if (typeof s === "string" && s.length > R.max) R.ol();
    return s;
  }

  // The built-in hooks, which templates may not call by name (handlebars.js 4.7.9).
  function isHook(h) {
    return h === R.hm || h === R.bhm;
  }
  function hookCall(name, loc) {
    return TErr("missing_helper", 'Missing helper: "' + name + '"', loc, { helper: name });
  }
  // A helper call: `{{name a b k=v}}`, `(name a)`, `{{#name a}}…{{/name}}`.
  R.call = function (c, name, simple, nonHelper, params, hash, data, loc, fn, inverse, nbp) {
    var h = simple ? helpers[name] : undefined;
    if (h && isHook(h)) throw hookCall(name, loc);
    if (!h) h = nonHelper;
    if (!h) {
      if (R.strict) throw TErr("missing_helper", 'Missing helper: "' + name + '"', loc, { helper: name });
      h = helpers.helperMissing;
    }
    if (typeof h !== "function") {
      throw TErr("missing_helper", 'Missing helper: "' + name + '" (not a function)', loc, { helper: name });
    }
    var o = makeOptions(name, hash, data, loc, fn, inverse, nbp);
    params.push(o);
    var prev = R.loc;
    R.loc = loc;
    var r = h.apply(c != null ? c : nullContext, params);
    R.loc = prev;
    return r;
  };

  // `{{name}}` / `{{#name}}` with a simple name and no arguments: a helper if one is
  // registered, else the value from the context (a function value is called).
  R.amb = function (c, name, value, data, loc, fn, inverse, nbp) {
    if (helpers[name] && isHook(helpers[name])) throw hookCall(name, loc);
    var h = helpers[name] || value;
    if (h == null && !R.strict) h = helpers.helperMissing;
    var o;
    var r = h;
    if (typeof h === "function") {
      o = makeOptions(name, {}, data, loc, fn, inverse, nbp);
      var prev = R.loc;
      R.loc = loc;
      r = h.call(c != null ? c : nullContext, o);
      R.loc = prev;
    }
    if (fn || inverse) {
      if (!helpers[name]) {
        o = o || makeOptions(name, {}, data, loc, fn, inverse, nbp);
        r = helpers.blockHelperMissing.call(c, r, o);
      }
    }
    return r;
  };

  // `{{path.to.value}}`: a value, never a helper (a function value is called).
  R.val = function (c, v) {
    return typeof v === "function" ? v.call(c) : v;
  };

  // `{{#path.to.value}}…{{/path.to.value}}`
  R.blk = function (c, name, v, data, loc, fn, inverse, nbp) {
    if (typeof v === "function") v = v.call(c);
    var o = makeOptions(name, {}, data, loc, fn, inverse, nbp);
    return helpers.blockHelperMissing.call(c, v, o);
  };

  // Wraps a compiled program as `options.fn` / `options.inverse`.
  R.prog = function (fn, data, depths, bps, P) {
    var prog = function (context, options) {
      options = options || {};
      var d = depths;
      if (context != depths[0] && !(context === nullContext && depths[0] === null)) {
        d = [context].concat(depths);
      }
      return fn(context, options.data || data, d, [options.blockParams].concat(bps), P);
    };
    return fn.dec ? decorate(fn, prog, P, depths[0], data, bps, depths) : prog;
  };

  // --- decorators -------------------------------------------------------------------------
  // handlebars.js' `executeDecorators`: each decorator of program `fn` gets the wrapped
  // program and may return another one; `props` set by decorators end up on the result.
  var decorators = create(null);
  R.decorators = decorators;
  function decorate(fn, prog, P, depth0, data, bps, depths) {
    var props = {};
    var container = { helpers: helpers, partials: P, decorators: decorators, lookupProperty: lookupProperty };
    prog = fn.dec(prog, props, container, depth0, data, bps, depths);
    return extend(prog, props);
  }
  R.dec = function (name, fn, props, container, params, hash, data, loc) {
    var d = decorators[name];
    if (typeof d !== "function") throw TErr("decorator", 'Missing decorator: "' + name + '"', loc);
    var o = {
      name: name,
      args: params,
      hash: hash,
      data: data,
      loc: loc ? { start: { line: loc[0], column: loc[1] - 1 } } : undefined,
    };
    var r = d.call(undefined, fn, props, container, o);
    return typeof r === "function" ? r : fn;
  };

  // Calls a compiled program as `R.prog(fn, data, depths, …, P)(context)` does, with the
  // block parameters already prepared (used by the inlined built-in helpers).
  R.cp = function (fn, context, data, depths, bps, P) {
    var d = depths;
    if (context != depths[0] && !(context === nullContext && depths[0] === null)) {
      d = [context].concat(depths);
    }
    return fn(context, data, d, bps, P);
  };

  // Partials: `{{> name ctx k=v}}`, `{{#> name}}fallback{{/name}}`, `{{> @partial-block}}`.
  R.ip = function (P, name, ctx, hash, data, fn, indent, loc) {
    var partial = name === "@partial-block" ? data && data["partial-block"] : P[name];
    var pp = P;
    if (fn) {
      var current = data && data["partial-block"];
      data = createFrame(data);
      var pb = function (c, o) {
        o = o || {};
        var d = createFrame(o.data);
        d["partial-block"] = current;
        return fn(c, { data: d, partials: o.partials });
      };
      data["partial-block"] = pb;
      if (fn.partials) {
        pp = Object.create(P);
        extend(pp, fn.partials);
      }
      if (partial === undefined) partial = pb;
    }
    if (typeof partial !== "function") {
      throw TErr("unknown_partial", "The partial " + name + " could not be found", loc, { partial: name });
    }
    if (hash) ctx = extend({}, ctx, hash);
    var out = partial(ctx, { data: data, partials: pp, name: name });
    if (indent) {
      var lines = out.split("\n");
      for (var i = 0, l = lines.length; i < l; i++) {
        if (!lines[i] && i + 1 === l) break;
        lines[i] = indent + lines[i];
      }
      out = lines.join("\n");
    }
    return checkOut(out);
  };
  R.ck = checkOut;

  // Built-in helpers (ports of handlebars.js 4.x).
  helpers.helperMissing = function () {
    if (arguments.length === 1) return undefined;
    var o = arguments[arguments.length - 1];
    throw TErr("missing_helper", 'Missing helper: "' + o.name + '"', o.loc ? [o.loc.start.line, o.loc.start.column] : R.loc, { helper: o.name });
  };
  helpers.blockHelperMissing = function (context, options) {
    var inverse = options.inverse,
      fn = options.fn;
    if (context === true) return fn(this);
    else if (context === false || context == null) return inverse(this);
    else if (isArray(context)) {
      if (context.length > 0) return helpers.each(context, options);
      return inverse(this);
    }
    return fn(context, options);
  };
  helpers.each = function (context, options) {
    if (!options) throw TErr("helper", "Must pass iterator to #each", R.loc);
    var fn = options.fn,
      inverse = options.inverse,
      i = 0,
      ret = "",
      data;
    if (typeof context === "function") context = context.call(this);
    if (options.data) data = createFrame(options.data);
    function exec(field, index, last, value) {
      if (data) {
        data.key = field;
        data.index = index;
        data.first = index === 0;
        data.last = !!last;
      }
      ret = ret + fn(value, { data: data, blockParams: [value, field] });
      if (ret.length > R.max) R.ol();
    }
    if (context && typeof context === "object") {
      if (isArray(context)) {
        for (var j = context.length; i < j; i++) {
          if (i in context) exec(i, i, i === context.length - 1, context[i]);
        }
      } else if (typeof Symbol === "function" && context[Symbol.iterator]) {
        var it = context[Symbol.iterator]();
        var cur = it.next();
        while (!cur.done) {
          var nx = it.next();
          exec(i, i, nx.done, cur.value);
          cur = nx;
          i++;
        }
      } else {
        var prior;
        var keys = Object.keys(context);
        for (var k = 0; k < keys.length; k++) {
          if (prior !== undefined) exec(prior, i - 1, false, context[prior]);
          prior = keys[k];
          i++;
        }
        if (prior !== undefined) exec(prior, i - 1, true, context[prior]);
      }
    }
    if (i === 0) ret = inverse(this);
    return ret;
  };
  helpers["if"] = function (conditional, options) {
    if (arguments.length != 2) throw TErr("helper", "#if requires exactly one argument", R.loc);
    if (typeof conditional === "function") conditional = conditional.call(this);
    if ((!options.hash.includeZero && !conditional) || isEmpty(conditional)) return options.inverse(this);
    return options.fn(this);
  };
  helpers.unless = function (conditional, options) {
    if (arguments.length != 2) throw TErr("helper", "#unless requires exactly one argument", R.loc);
    return helpers["if"].call(this, conditional, { fn: options.inverse, inverse: options.fn, hash: options.hash });
  };
  helpers["with"] = function (context, options) {
    if (arguments.length != 2) throw TErr("helper", "#with requires exactly one argument", R.loc);
    if (typeof context === "function") context = context.call(this);
    if (!isEmpty(context)) return options.fn(context, { data: options.data, blockParams: [context] });
    return options.inverse(this);
  };
  helpers.lookup = function (obj, field, options) {
    if (!obj) return obj;
    return lookupProperty(obj, field);
  };
  var methodMap = ["debug", "info", "warn", "error"];
  function log(level) {
    if (typeof level === "string") {
      var l = methodMap.indexOf(level.toLowerCase());
      level = l >= 0 ? l : parseInt(level, 10);
    }
    if (typeof console === "undefined" || !(level >= 1)) return;
    var method = methodMap[level] || "log";
    var out = typeof console[method] === "function" ? console[method] : console.log;
    var args = Array.prototype.slice.call(arguments, 1);
    if (typeof out === "function") out.apply(console, args);
  }
  helpers.log = function () {
    var options = arguments[arguments.length - 1];
    var args = [undefined];
    for (var i = 0; i < arguments.length - 1; i++) args.push(arguments[i]);
    var level = 1;
    if (options.hash.level != null) level = options.hash.level;
    else if (options.data && options.data.level != null) level = options.data.level;
    args[0] = level;
    log.apply(null, args);
  };
  R.hm = helpers.helperMissing;
  R.bhm = helpers.blockHelperMissing;
  var builtins = Object.keys(helpers);
  // The built-in helpers, to detect at render time that one has been replaced.
  R.bi = { if: helpers["if"], unless: helpers.unless, with: helpers["with"], each: helpers.each };
  R.nc = nullContext;

  // Entry points used by installed templates.
  R.defTemplate = function (name, fn) {
    templates[name] = fn;
  };
  R.defPartial = function (name, fn) {
    partials[name] = fn;
  };
  // A compiled Handlebars template as a function (context, options).
  R.template = function (main) {
    return function (context, options) {
      options = options || {};
      var data = options.data;
      // handlebars.js' `initData`.
      if (!data || !("root" in data)) {
        data = data ? createFrame(data) : {};
        data.root = context;
      }
      var P = options.partials || partials;
      if (main.dec) {
        var prog = decorate(
          main,
          function (c, o) {
            return main(c, (o && o.data) || data, [c], [], P);
          },
          P,
          undefined,
          data,
          [],
          []
        );
        return prog(context, { data: data });
      }
      return main(context, data, [context], [], P);
    };
  };

  // --- the Handlebars object helpers see --------------------------------------------------
  var Handlebars = {
    VERSION: "4.7.8-sandvm",
    SafeString: SafeString,
    escapeExpression: escapeExpression,
    createFrame: createFrame,
    Utils: {
      escapeExpression: escapeExpression,
      isEmpty: isEmpty,
      extend: extend,
      isArray: isArray,
      isFunction: function (v) {
        return typeof v === "function";
      },
      createFrame: createFrame,
    },
    helpers: helpers,
    partials: partials,
    registerHelper: function (name, fn) {
      if (name && typeof name === "object") {
        for (var k in name) if (hasOwn.call(name, k)) Handlebars.registerHelper(k, name[k]);
        return;
      }
      if (typeof fn !== "function") throw new TypeError("registerHelper: helper " + name + " is not a function");
      helpers[name] = fn;
      if (R.mode === "mustache") M.lambdas[name] = fn;
    },
    decorators: decorators,
    registerDecorator: function (name, fn) {
      if (name && typeof name === "object") {
        for (var k in name) if (hasOwn.call(name, k)) Handlebars.registerDecorator(k, name[k]);
        return;
      }
      if (typeof fn !== "function") throw new TypeError("registerDecorator: decorator " + name + " is not a function");
      decorators[name] = fn;
    },
    unregisterDecorator: function (name) {
      delete decorators[name];
    },
    unregisterHelper: function (name) {
      delete helpers[name];
      delete M.lambdas[name];
    },
    registerPartial: function (name, p) {
      if (name && typeof name === "object") {
        for (var k in name) if (hasOwn.call(name, k)) Handlebars.registerPartial(k, name[k]);
        return;
      }
      if (typeof p === "function") partials[name] = p;
      else if (typeof p === "string") {
        if (R.mode === "mustache") M.partials[name] = M.compile(p, "{{", "}}");
        else partials[name] = R.compileHbs(p, name);
      } else throw new TypeError("registerPartial: partial " + name + " must be a string or a function");
    },
    unregisterPartial: function (name) {
      delete partials[name];
      delete M.partials[name];
    },
    compile: function (src) {
      var t = R.compileHbs(String(src), "<compile>");
      return function (context, options) {
        return t(context, options);
      };
    },
    log: log,
  };
  R.handlebars = Handlebars;

  // Compiles template text at run time through the host (the Rust parser): used for
  // `Handlebars.registerPartial(name, string)`, `Handlebars.compile` and Mustache lambdas.
  function hostCompile(mode, src, otag, ctag) {
    if (typeof hostCompileFn !== "function") throw new Error("template compilation is not available");
    var r = hostCompileFn(mode, src, otag, ctag);
    var at = r && r.line ? [r.line, r.column] : null;
    if (r && r.limit) throw TErr("limit", r.error, at, { limit: r.limit, max: r.max });
    if (r && r.error) throw TErr("parse", r.error, at);
    return geval("(" + r.code + ")")(R, M);
  }
  R.compileHbs = function (src) {
    return R.template(hostCompile("handlebars", src, "", ""));
  };

  // --- Mustache ------------------------------------------------------------------------------
  var M = {
    partials: Object.create(null),
    templates: Object.create(null),
    lambdas: Object.create(null),
    cache: Object.create(null),
  };
  R.mustache = M;

  function mfind(s, name) {
    for (var i = s.length - 1; i >= 0; i--) {
      var f = s[i];
      if (f != null && (typeof f === "object" || typeof f === "function") && hasOwn.call(f, name)) {
        return f;
      }
    }
    return undefined;
  }
  // Resolves a name against the context stack `s` (parts === null means `.`).
  M.lk = function (s, parts) {
    if (parts === null) return s[s.length - 1];
    var f = mfind(s, parts[0]);
    if (f === undefined) return undefined;
    var v = f[parts[0]];
    for (var i = 1; i < parts.length; i++) {
      if (typeof v === "function") v = v.call(f);
      if (v == null) return undefined;
      var o = Object(v);
      if (!hasOwn.call(o, parts[i])) return undefined;
      f = v;
      v = o[parts[i]];
    }
    return v;
  };
  M.compile = function (src, otag, ctag) {
    var key = otag + "\u0000" + ctag + "\u0000" + src;
    var f = M.cache[key];
    if (!f) {
      f = hostCompile("mustache", src, otag, ctag);
      M.cache[key] = f;
    }
    return f;
  };
  // `{{name}}` / `{{{name}}}`
  M.v = function (s, parts, escape, b) {
    var v = M.lk(s, parts);
    if (typeof v === "function") {
      v = v.call(s[s.length - 1]);
      if (v == null) return "";
      v = M.compile("" + v, "{{", "}}")(s, b, "");
    }
    if (v == null) return "";
    return escape ? escapeExpression("" + v) : "" + v;
  };
  // `{{#name}}…{{/name}}`
  // `src.slice(start, end)` is the section's raw body (given to a lambda).
  M.sec = function (s, parts, fn, src, start, end, otag, ctag, b) {
    var v = M.lk(s, parts);
    if (typeof v === "function") {
      var r = v.call(s[s.length - 1], src.slice(start, end));
      if (r == null) return "";
      return checkOut(M.compile("" + r, otag, ctag)(s, b, ""));
    }
    if (!v) return "";
    if (isArray(v)) {
      var o = "";
      for (var i = 0; i < v.length; i++) {
        o += fn(s.concat([v[i]]));
        if (o.length > R.max) R.ol();
      }
      return o;
    }
    return checkOut(fn(s.concat([v])));
  };
  // `{{^name}}`: true when the section should render.
  M.inv = function (s, parts) {
    var v = M.lk(s, parts);
    return !v || (isArray(v) && v.length === 0);
  };
  M.pname = function (s, parts) {
    var v = M.lk(s, parts);
    if (typeof v === "function") v = v.call(s[s.length - 1]);
    return v == null || v === false ? "" : "" + v;
  };
  M.p = function (name, s, b, ind) {
    var f = M.partials[name];
    return f ? checkOut(f(s, b, ind)) : "";
  };
  M.parent = function (name, s, b, args, ind) {
    var f = M.partials[name];
    if (!f) return "";
    var nb = Object.create(null);
    for (var i = 0; i < args.length; i++) nb[args[i][0]] = args[i][1];
    for (var k in b) nb[k] = b[k];
    return checkOut(f(s, nb, ind));
  };

  // Host entry points: non-writable, non-configurable globals.
  function entry(name, f) {
    defineProperty(G, name, { value: f, writable: false, enumerable: false, configurable: false });
  }
  function checkToken(token) {
    if (TOKEN === null || token !== TOKEN) throw new TypeError("not available");
  }

  // The host's configuration, once, before any guest code runs.
  G.__svt_config = function (token, mode, strict, noEscape, max) {
    delete G.__svt_config;
    if (TOKEN !== null) return;
    TOKEN = "" + token;
    R.mode = mode;
    R.strict = !!strict;
    R.noEscape = !!noEscape;
    R.max = max;
  };

  // A helpers script: it may call `Handlebars.registerHelper`, set `module.exports`, or
  // end with an object of functions.
  function evalHelpers(src) {
    var m = { exports: {} };
    G.module = m;
    G.exports = m.exports;
    var v;
    try {
      v = geval(src);
    } finally {
      delete G.module;
      delete G.exports;
    }
    return [v, m.exports];
  }

  // Registration: `__svt_def(token, "factory", "", f)` (a script compiled by the host)
  // keeps a template factory for the next `__svt_def(token, "template" | "partial", name)`;
  // `__svt_def(token, "helper", name, source)` and `__svt_def(token, "helpers", "", source)`
  // evaluate guest code.
  var pending;
  function def(kind, name, arg) {
    if (kind === "factory") {
      pending = arg;
      return true;
    }
    if (kind === "helper") {
      var v = geval("(\n" + arg + "\n)");
      if (typeof v !== "function") {
        throw TErr("invalid_helper", "helper " + name + " is not a function (got " + typeof v + ")");
      }
      Handlebars.registerHelper(name, v);
      return true;
    }
    if (kind === "decorators") {
      var nd = 0;
      var dv = evalHelpers("" + arg);
      var dobjs = dv[1] === dv[0] ? [dv[0]] : dv;
      for (var di = 0; di < dobjs.length; di++) {
        var dobj = dobjs[di];
        if (dobj && typeof dobj === "object") {
          for (var dk in dobj) {
            if (hasOwn.call(dobj, dk) && typeof dobj[dk] === "function") {
              Handlebars.registerDecorator(dk, dobj[dk]);
              nd++;
            }
          }
        }
      }
      return nd;
    }
    if (kind === "helpers") {
      var n = 0;
      var got = evalHelpers("" + arg);
      var objs = got[1] === got[0] ? [got[0]] : got;
      for (var j = 0; j < objs.length; j++) {
        var obj = objs[j];
        if (obj && typeof obj === "object") {
          for (var key in obj) {
            if (hasOwn.call(obj, key) && typeof obj[key] === "function") {
              Handlebars.registerHelper(key, obj[key]);
              n++;
            }
          }
        }
      }
      return n;
    }
    var factory = pending;
    pending = undefined;
    if (typeof factory !== "function") throw new TypeError("no compiled template");
    var f = factory(R, M);
    if (R.mode === "mustache") {
      (kind === "template" ? M.templates : M.partials)[name] = f;
    } else {
      (kind === "template" ? templates : partials)[name] = R.template(f);
    }
    return true;
  }
  entry("__svt_def", function (token, kind, name, arg) {
    checkToken(token);
    try {
      return def(kind, name, arg);
    } catch (e) {
      throw exit(e);
    }
  });

  // --- entry point ---------------------------------------------------------------------------
  // Per-render helpers (installed for the render, then restored) and partials.
  function withRuntime(ro, f) {
    var saved = [];
    var P = partials;
    try {
      if (ro.helpers) {
        for (var h in ro.helpers) {
          if (!hasOwn.call(ro.helpers, h)) continue;
          var fn = geval("(\n" + ro.helpers[h] + "\n)");
          if (typeof fn !== "function") {
            throw TErr("invalid_helper", "helper " + h + " is not a function (got " + typeof fn + ")");
          }
          saved.push([h, hasOwn.call(helpers, h), helpers[h]]);
          helpers[h] = fn;
        }
      }
      if (ro.partials) {
        P = create(partials);
        for (var p in ro.partials) {
          if (hasOwn.call(ro.partials, p)) P[p] = R.compileHbs("" + ro.partials[p], p);
        }
      }
      PA = ro.props || ro.methods || ro.propsDefault || ro.methodsDefault ? protoAccess(ro) : null;
      return f(P);
    } finally {
      PA = null;
      for (var i = saved.length - 1; i >= 0; i--) {
        if (saved[i][1]) helpers[saved[i][0]] = saved[i][2];
        else delete helpers[saved[i][0]];
      }
    }
  }

  function render(name, context, ro, dataSrc) {
    R.loc = null;
    var out;
    // The data script's own errors reach the host as they are (not as template errors).
    if (typeof dataSrc === "string") context = geval(dataSrc);
    try {
      if (R.mode === "mustache") {
        var mt = M.templates[name];
        if (!mt) throw TErr("unknown_template", "unknown template " + name, null, { template: name });
        out = mt([M.lambdas, context], Object.create(null), "");
      } else {
        var t = templates[name];
        if (!t) throw TErr("unknown_template", "unknown template " + name, null, { template: name });
        if (ro) {
          out = withRuntime(ro, function (P) {
            return t(context, { data: ro.data != null ? ro.data : undefined, partials: P });
          });
        } else out = t(context, {});
      }
    } catch (e) {
      if (genuine.has(e)) throw e;
      if (e instanceof Error && !isLimit(e)) {
        var msg = e.name + ": " + e.message;
        throw TErr("helper", msg, R.loc, { name: e.name, error: e.message });
      }
      throw e;
    }
    if (typeof out !== "string") out = out == null ? "" : "" + out;
    if (out.length > R.max) R.ol();
    return out;
  }
  entry("__svt_render", function (name, context, ro, dataSrc) {
    try {
      return render(name, context, ro, dataSrc);
    } catch (e) {
      throw exit(e);
    }
  });
  G.Handlebars = Handlebars;
  R.builtins = builtins;
})(globalThis);
