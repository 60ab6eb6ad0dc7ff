//! Rendering of each kind of object: arrays, typed arrays, buffers, collections, promises,
//! functions, regexps, dates, boxed primitives and errors.

use super::*;

impl<'js> Inspector<'_, 'js> {
    pub(crate) fn format_array(
        &mut self,
        value: &Value<'js>,
        length: u64,
        indices: &[u32],
        recurse_times: usize,
    ) -> Vec<String> {
        let max = self.opts.max_array_length;
        let mut output = Vec::new();
        let dense = indices.len() as u64 == length;
        if dense {
            let len = (max as u64).min(length) as usize;
            for &i in indices.iter().take(len) {
                if self.exhausted {
                    break;
                }
                output.push(self.format_index(value, i, recurse_times));
            }
            let remaining = length - len as u64;
            if remaining > 0 {
                output.push(remaining_text(remaining as usize));
            }
            return output;
        }
        // Node's formatSpecialArray.
        let max_length = (max as u64).min(length) as usize;
        let mut index: u64 = 0;
        for &k in indices {
            if output.len() >= max_length || self.exhausted {
                break;
            }
            let k = k as u64;
            if k >= length {
                break;
            }
            if index != k {
                let empty = k - index;
                let msg = format!("<{} empty item{}>", empty, if empty > 1 { "s" } else { "" });
                output.push(self.stylize(&msg, Style::Undefined));
                index = k;
                if output.len() == max_length {
                    break;
                }
            }
            output.push(self.format_index(value, k as u32, recurse_times));
            index += 1;
        }
        let remaining = length.saturating_sub(index);
        if output.len() != max_length {
            if remaining > 0 {
                let msg = format!("<{} empty item{}>", remaining, if remaining > 1 { "s" } else { "" });
                output.push(self.stylize(&msg, Style::Undefined));
            }
        } else if remaining > 0 {
            output.push(remaining_text(remaining as usize));
        }
        output
    }

    pub(crate) fn format_index(&mut self, value: &Value<'js>, i: u32, recurse_times: usize) -> String {
        match self.r.index_atom(i) {
            Some(a) => {
                let key = EntryKey::Own(Key { atom: a, enumerable: true });
                self.format_property(value, &key, recurse_times, true)
            }
            None => self.stylize("undefined", Style::Undefined),
        }
    }

    pub(crate) fn format_typed(&mut self, value: &Value<'js>, length: usize) -> Vec<String> {
        let max = self.opts.max_array_length.min(length);
        let mut output = Vec::with_capacity(max + 1);
        for i in 0..max {
            let s = match self.r.index_atom(i as u32).map(|a| self.r.get_own(value, a.atom)) {
                Some(Prop::Data(v)) if v.is_number() => self.format_number(&v),
                Some(Prop::Data(v)) => self.format_primitive(&v),
                _ => self.stylize("undefined", Style::Undefined),
            };
            output.push(self.emit(s));
        }
        if length > max {
            output.push(remaining_text(length - max));
        }
        output
    }

    /// Whether an (Shared)ArrayBuffer is detached, asked without any throwing call. If we
    /// cannot tell (no intrinsics), it is assumed detached so nothing can throw.
    pub(crate) fn buffer_detached(&self, buf: &Value<'js>) -> bool {
        if self.r.class_id(buf) == class_id::SHARED_ARRAY_BUFFER {
            return false;
        }
        self.intr
            .and_then(|i| i.array_buffer_detached.as_ref())
            .and_then(|g| self.r.call(g, buf, &[]))
            .and_then(|b| b.as_bool())
            .unwrap_or(true)
    }

    pub(crate) fn buffer_resizable(&self, buf: &Value<'js>) -> bool {
        self.intr
            .and_then(|i| i.array_buffer_resizable.as_ref())
            .and_then(|g| self.r.call(g, buf, &[]))
            .and_then(|b| b.as_bool())
            .unwrap_or(true)
    }

    pub(crate) fn format_array_buffer(&mut self, value: &Value<'js>) -> Vec<String> {
        if self.buffer_detached(value) {
            return vec![self.stylize("(detached)", Style::Special)];
        }
        let mut size: qjs::size_t = 0;
        // SAFETY: `value` is an ArrayBuffer/SharedArrayBuffer; the returned pointer is valid
        // for `size` bytes until JS code runs again, and we copy the bytes right away.
        let ptr = unsafe { qjs::JS_GetArrayBuffer(self.r.p, &mut size, value.as_raw()) };
        if ptr.is_null() {
            self.r.clear_exception();
            return vec![self.stylize("(detached)", Style::Special)];
        }
        let size = size as usize;
        let n = size.min(self.opts.max_array_length);
        // SAFETY: see above; `n <= size`.
        let bytes = unsafe { std::slice::from_raw_parts(ptr, n) };
        let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut s = hex.join(" ");
        if size > self.opts.max_array_length {
            let rem = size - self.opts.max_array_length;
            s.push_str(&format!(" ... {} more byte{}", rem, if rem > 1 { "s" } else { "" }));
        }
        vec![format!("{}: <{}>", self.stylize("[Uint8Contents]", Style::Special), s)]
    }

    /// Iterates a Map/Set with the captured native iterator, at most `limit` steps.
    pub(crate) fn collection_items(&self, value: &Value<'js>, is_map: bool, limit: usize) -> Vec<Value<'js>> {
        let mut out = Vec::new();
        let Some(i) = self.intr else { return out };
        let (start, next) = if is_map {
            (i.map_entries.as_ref(), i.map_iter_next.as_ref())
        } else {
            (i.set_values.as_ref(), i.set_iter_next.as_ref())
        };
        let (Some(start), Some(next)) = (start, next) else {
            return out;
        };
        let Some(it) = self.r.call(start, value, &[]) else {
            return out;
        };
        while out.len() < limit {
            let Some(res) = self.r.call(next, &it, &[]) else {
                break;
            };
            let done = self.data(&res, &self.a_done).and_then(|d| d.as_bool()).unwrap_or(true);
            if done {
                break;
            }
            match self.data(&res, &self.a_value) {
                Some(v) => out.push(v),
                None => break,
            }
        }
        out
    }

    pub(crate) fn collection_size(&self, value: &Value<'js>, is_map: bool) -> usize {
        self.intr
            .and_then(|i| if is_map { i.map_size.as_ref() } else { i.set_size.as_ref() })
            .and_then(|g| self.r.call(g, value, &[]))
            .and_then(|s| self.r.number(&s))
            .unwrap_or(0.0) as usize
    }

    pub(crate) fn format_set(&mut self, value: &Value<'js>, recurse_times: usize) -> Vec<String> {
        let size = self.collection_size(value, false);
        let max = self.opts.max_array_length.min(size);
        let items = self.collection_items(value, false, max);
        self.indentation_lvl += 2;
        let mut output = Vec::new();
        for v in &items {
            if self.exhausted {
                break;
            }
            output.push(self.format_value(v, recurse_times, false));
        }
        if size > max {
            output.push(remaining_text(size - max));
        }
        self.indentation_lvl -= 2;
        output
    }

    pub(crate) fn format_map(&mut self, value: &Value<'js>, recurse_times: usize) -> Vec<String> {
        let size = self.collection_size(value, true);
        let max = self.opts.max_array_length.min(size);
        let items = self.collection_items(value, true, max);
        self.indentation_lvl += 2;
        let mut output = Vec::new();
        for e in &items {
            if self.exhausted {
                break;
            }
            let k = self.r.index_atom(0).and_then(|a| self.r.data_prop(e, &a));
            let v = self.r.index_atom(1).and_then(|a| self.r.data_prop(e, &a));
            let undef = self.r.own(qjs::JS_UNDEFINED);
            let ks = self.format_value(k.as_ref().unwrap_or(&undef), recurse_times, false);
            let vs = self.format_value(v.as_ref().unwrap_or(&undef), recurse_times, false);
            output.push(format!("{ks} => {vs}"));
        }
        if size > max {
            output.push(remaining_text(size - max));
        }
        self.indentation_lvl -= 2;
        output
    }

    /// Node's formatSetIterInner / formatMapIterInner (`kIterator`, `kMapEntries`) on an
    /// iterator preview: `items` are values, or `[k0, v0, k1, v1, ...]` when `pairs`; `left`
    /// entries remain in all (more than shown when the preview was cut).
    pub(crate) fn format_iterator_preview(
        &mut self,
        pairs: bool,
        items: &[Value<'js>],
        left: usize,
        recurse_times: usize,
    ) -> Vec<String> {
        self.indentation_lvl += 2;
        let mut output = Vec::new();
        if pairs {
            for pair in items.chunks(2) {
                if self.exhausted {
                    break;
                }
                let res: Vec<String> = pair.iter().map(|v| self.format_value(v, recurse_times, false)).collect();
                let braces = ["[".to_string(), "]".to_string()];
                output.push(self.reduce_to_single_string(res, "", &braces, Extras::Array, recurse_times, false));
            }
        } else {
            for v in items {
                if self.exhausted {
                    break;
                }
                output.push(self.format_value(v, recurse_times, false));
            }
        }
        self.indentation_lvl -= 2;
        let shown = if pairs { items.len() / 2 } else { items.len() };
        if left > shown {
            output.push(remaining_text(left - shown));
        }
        output
    }

    pub(crate) fn format_promise(&mut self, value: &Value<'js>, recurse_times: usize) -> Vec<String> {
        // SAFETY: JS_PromiseState reads the promise's internal state.
        let state = unsafe { qjs::JS_PromiseState(self.r.p, value.as_raw()) };
        if state == qjs::JSPromiseStateEnum_JS_PROMISE_PENDING || state < 0 {
            return vec![self.stylize("<pending>", Style::Special)];
        }
        // SAFETY: JS_PromiseResult returns a new reference to the settled value.
        let result = self.r.own(unsafe { qjs::JS_PromiseResult(self.r.p, value.as_raw()) });
        self.indentation_lvl += 2;
        let s = self.format_value(&result, recurse_times, false);
        self.indentation_lvl -= 2;
        if state == qjs::JSPromiseStateEnum_JS_PROMISE_REJECTED {
            vec![format!("{} {}", self.stylize("<rejected>", Style::Special), s)]
        } else {
            vec![s]
        }
    }

    pub(crate) fn function_base(&mut self, value: &Value<'js>, constructor: &Option<String>, tag: &str) -> String {
        let src = self
            .intr
            .and_then(|i| i.fn_to_string.as_ref())
            .and_then(|f| self.r.call(f, value, &[]))
            .map(|s| self.string_prefix(&s, 4096).0)
            .map(|u| String::from_utf16_lossy(&u))
            .unwrap_or_default();
        // Node prints `${value.name}`: a numeric (or other primitive) name shows as text too.
        let name = self
            .data(value, &self.a_name)
            .and_then(|n| {
                self.string_of(&n).or_else(|| {
                    (n.is_number() || n.is_bool() || n.is_null() || n.is_big_int()).then(|| self.r.lossy(&n))
                })
            })
            .unwrap_or_default();
        if is_class_source(&src) {
            let mut base = format!("class {}", if name.is_empty() { "(anonymous)" } else { &name });
            if constructor.as_deref() != Some("Function") {
                if let Some(c) = constructor {
                    base.push_str(&format!(" [{c}]"));
                }
            }
            if !tag.is_empty() && constructor.as_deref() != Some(tag) {
                base.push_str(&format!(" [{tag}]"));
            }
            if constructor.is_some() {
                let sup = self
                    .r
                    .proto(value)
                    .and_then(|p| self.data(&p, &self.a_name))
                    .and_then(|n| self.string_of(&n))
                    .unwrap_or_default();
                if !sup.is_empty() {
                    base.push_str(&format!(" extends {sup}"));
                }
            } else {
                base.push_str(" extends [null prototype]");
            }
            return format!("[{base}]");
        }
        let cls = self.r.class_id(value);
        let mut ty = "Function".to_string();
        if cls == class_id::GENERATOR_FUNCTION || cls == class_id::ASYNC_GENERATOR_FUNCTION {
            ty = format!("Generator{ty}");
        }
        if cls == class_id::ASYNC_FUNCTION || cls == class_id::ASYNC_GENERATOR_FUNCTION {
            ty = format!("Async{ty}");
        }
        let mut base = format!("[{ty}");
        if constructor.is_none() {
            base.push_str(" (null prototype)");
        }
        if name.is_empty() {
            base.push_str(" (anonymous)");
        } else {
            base.push_str(&format!(": {name}"));
        }
        base.push(']');
        if let Some(c) = constructor {
            if *c != ty {
                base.push_str(&format!(" {c}"));
            }
        }
        if !tag.is_empty() && constructor.as_deref() != Some(tag) {
            base.push_str(&format!(" [{tag}]"));
        }
        base
    }

    pub(crate) fn regexp_string(&self, value: &Value<'js>) -> String {
        let Some(i) = self.intr else {
            return "/(?:)/".to_string();
        };
        let source = i
            .re_source
            .as_ref()
            .and_then(|g| self.r.call(g, value, &[]))
            .and_then(|s| self.string_of(&s))
            .unwrap_or_else(|| "(?:)".to_string());
        let mut flags = String::new();
        for (c, g) in &i.re_flags {
            if self.r.call(g, value, &[]).and_then(|b| b.as_bool()) == Some(true) {
                flags.push(*c);
            }
        }
        format!("/{source}/{flags}")
    }

    pub(crate) fn date_string(&self, value: &Value<'js>) -> String {
        let Some(i) = self.intr else {
            return "Date".to_string();
        };
        let t = i
            .date_get_time
            .as_ref()
            .and_then(|g| self.r.call(g, value, &[]))
            .and_then(|t| self.r.number(&t))
            .unwrap_or(f64::NAN);
        if t.is_nan() {
            return "Invalid Date".to_string();
        }
        i.date_to_iso
            .as_ref()
            .and_then(|g| self.r.call(g, value, &[]))
            .and_then(|s| self.string_of(&s))
            .unwrap_or_else(|| "Invalid Date".to_string())
    }

    pub(crate) fn boxed_base(
        &mut self,
        value: &Value<'js>,
        cls: u32,
        constructor: &Option<String>,
        tag: &str,
        no_keys: bool,
    ) -> Option<String> {
        let i = self.intr;
        let (ty, f, style) = match cls {
            class_id::NUMBER => ("Number", i.and_then(|i| i.number_value_of.as_ref()), Style::Number),
            class_id::STRING => ("String", i.and_then(|i| i.string_value_of.as_ref()), Style::String),
            class_id::BOOLEAN => ("Boolean", i.and_then(|i| i.boolean_value_of.as_ref()), Style::Boolean),
            class_id::BIG_INT => ("BigInt", i.and_then(|i| i.bigint_value_of.as_ref()), Style::BigInt),
            class_id::SYMBOL => ("Symbol", i.and_then(|i| i.symbol_value_of.as_ref()), Style::Symbol),
            _ => return None,
        };
        // `Number.prototype` and friends are wrapper objects in this engine but not in V8, where
        // Node prints them as ordinary objects (`{}`): the prototype of its own constructor.
        let ctor = self.data(value, &self.a_constructor);
        if ctor.and_then(|c| self.data(&c, &self.a_prototype)).is_some_and(|p| self.r.same(&p, value)) {
            return None;
        }
        let prim = f.and_then(|f| self.r.call(f, value, &[]));
        let mut base = format!("[{ty}");
        match constructor {
            None => base.push_str(" (null prototype)"),
            Some(c) if c != ty => base.push_str(&format!(" ({c})")),
            _ => {}
        }
        let inner = match prim {
            Some(p) => {
                let colors = self.opts.colors;
                self.opts.colors = false;
                let saved = self.indentation_lvl;
                // Avoid the long-string line splitting for the boxed value.
                self.indentation_lvl = 0;
                let s = if p.is_string() {
                    let (units, _) = self.string_prefix(&p, self.opts.max_string_length);
                    str_escape(&units)
                } else {
                    self.format_primitive(&p)
                };
                self.indentation_lvl = saved;
                self.opts.colors = colors;
                s
            }
            None => "?".to_string(),
        };
        base.push_str(&format!(": {inner}]"));
        if !tag.is_empty() && constructor.as_deref() != Some(tag) {
            base.push_str(&format!(" [{tag}]"));
        }
        if !no_keys || !self.opts.colors {
            return Some(base);
        }
        Some(self.stylize(&base, style))
    }

    pub(crate) fn format_error(
        &mut self,
        err: &Value<'js>,
        constructor: &Option<String>,
        tag: &str,
        keys: &mut Vec<EntryKey<'js>>,
    ) -> String {
        let name = match self.data_in_chain(err, &self.a_name) {
            Some(n) if n.is_string() => self.r.lossy(&n),
            _ => "Error".to_string(),
        };
        let message = self.data_in_chain(err, &self.a_message).and_then(|m| self.string_of(&m)).unwrap_or_default();
        let header = if message.is_empty() {
            name.clone()
        } else if name.is_empty() {
            message.clone()
        } else {
            format!("{name}: {message}")
        };
        let own_stack = self.data(err, &self.a_stack);
        let stack_val = match own_stack {
            Some(s) => Some(s),
            None => {
                // SAFETY: class id check only.
                if unsafe { qjs::JS_IsError(err.as_raw()) } {
                    self.intr.and_then(|i| i.error_stack.as_ref()).and_then(|g| self.r.call(g, err, &[]))
                } else {
                    None
                }
            }
        };
        let mut stack = match stack_val {
            Some(s) if s.is_string() => {
                let (u, _) = self.string_prefix(&s, self.opts.max_string_length);
                String::from_utf16_lossy(&u)
            }
            _ => String::new(),
        };
        if stack.is_empty() {
            stack = header.clone();
        } else if stack.starts_with("    at ") {
            // quickjs-ng stacks carry frames only; add V8's "Name: message" header.
            stack = format!("{header}\n{stack}");
        }
        while stack.ends_with('\n') {
            stack.pop();
        }
        // removeDuplicateErrorKeys
        let mut removed = Vec::new();
        for (idx, k) in keys.iter().enumerate() {
            if let EntryKey::Own(k) = k {
                let kn = String::from_utf16_lossy(&self.r.atom_units(k.atom.atom));
                if kn == "name" || kn == "message" || kn == "stack" {
                    if let Some(Prop::Data(v)) = Some(self.r.get_own(err, k.atom.atom)) {
                        if let Some(s) = self.string_of(&v) {
                            if stack.contains(&s) {
                                removed.push(idx);
                            }
                        }
                    }
                }
            }
        }
        for idx in removed.into_iter().rev() {
            keys.remove(idx);
        }
        for (atom, want_array) in [(&self.a_cause, false), (&self.a_errors, true)] {
            let Some(a) = atom.as_ref() else { continue };
            let present = keys.iter().any(|k| matches!(k, EntryKey::Own(k) if k.atom.atom == a.atom));
            if present {
                continue;
            }
            if let Prop::Data(v) | Prop::Accessor { getter: v, .. } = self.r.get_own(err, a.atom) {
                // SAFETY: class id check only.
                if want_array && !unsafe { qjs::JS_IsArray(v.as_raw()) } {
                    continue;
                }
                // SAFETY: duplicating an atom we hold.
                let dup = unsafe { qjs::JS_DupAtom(self.r.p, a.atom) };
                keys.push(EntryKey::Own(Key {
                    atom: Atom { p: self.r.p, atom: dup, _marker: PhantomData },
                    enumerable: false,
                }));
            }
        }
        let stack = improve_stack(stack, constructor, &name, tag);
        let mut pos: Option<usize> = None;
        if !message.is_empty() {
            if let Some(p) = stack.find(&message) {
                if p != 0 {
                    pos = Some(p + message.len());
                }
            }
        }
        let from = pos.unwrap_or(0).min(stack.len());
        let has_frames = stack.get(from..).map(|s| s.contains("\n    at")).unwrap_or(false);
        let mut stack = if has_frames { stack } else { format!("[{stack}]") };
        if self.indentation_lvl != 0 {
            let ind = " ".repeat(self.indentation_lvl);
            stack = stack.replace('\n', &format!("\n{ind}"));
        }
        stack
    }
}
