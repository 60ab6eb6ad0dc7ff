//! `TextEncoder` and `TextDecoder` on `encoding_rs`: every encoding of the WHATWG Encoding
//! Standard, label validation, BOM handling, streaming (`{ stream: true }`) and the exact
//! number of U+FFFD replacements the standard asks for.
//!
//! Decoding works in bounded steps: the host reads the guest's bytes in place and hands back
//! the text in pieces of at most [`PIECE`] bytes, so the whole output is only ever built in the
//! guest's heap, under the run's memory limit.

use encoding_rs::{CoderResult, Decoder, DecoderResult, Encoding};
use rquickjs::{Array, Class, Ctx, Exception, Function, TypedArray, Value};

use super::{state, usv, Host};

/// The most text (in UTF-8 bytes) the host builds before handing a piece to the guest.
const PIECE: usize = 1 << 20;

/// A `TextDecoder`'s host state.
pub(crate) struct TextDecoderState {
    encoding: &'static Encoding,
    fatal: bool,
    ignore_bom: bool,
    /// The decoder of the stream in progress (`None` between streams).
    current: Option<Decoder>,
}

/// `decoderNew(label, fatal, ignoreBOM)`: `[state, name]`, or `null` for a label the standard
/// does not know (or one that names the `replacement` encoding).
fn decoder_new<'js>(ctx: Ctx<'js>, label: Value<'js>, fatal: bool, ignore_bom: bool) -> rquickjs::Result<Value<'js>> {
    let label = usv(&ctx, &label);
    let Some(encoding) = Encoding::for_label(label.as_bytes()) else { return Ok(Value::new_null(ctx)) };
    if encoding == encoding_rs::REPLACEMENT {
        return Ok(Value::new_null(ctx));
    }
    let st = TextDecoderState { encoding, fatal, ignore_bom, current: None };
    let out = Array::new(ctx.clone())?;
    out.set(0, Class::instance(ctx.clone(), Host(st))?)?;
    out.set(1, encoding.name().to_ascii_lowercase())?;
    Ok(out.into_value())
}

/// `decode(state, bytes, stream)`: decodes a `Uint8Array` (the prelude makes one over any
/// buffer or view) and returns the text as an array of pieces.
fn decode<'js>(ctx: Ctx<'js>, st: Value<'js>, bytes: Value<'js>, stream: bool) -> rquickjs::Result<Array<'js>> {
    let st = state::<TextDecoderState>(&ctx, &st)?;
    let mut cell = st.try_borrow_mut().map_err(|_| Exception::throw_type(&ctx, "TextDecoder is busy"))?;
    let s = &mut cell.0;
    let input = TypedArray::<u8>::from_value(bytes).map_err(|_| Exception::throw_type(&ctx, "expected bytes"))?;
    let mut dec = match s.current.take() {
        Some(d) => d,
        None if s.ignore_bom => s.encoding.new_decoder_without_bom_handling(),
        None => s.encoding.new_decoder_with_bom_removal(),
    };
    let last = !stream;
    let pieces = Array::new(ctx.clone())?;
    let mut n_pieces = 0;
    let mut out = String::with_capacity(PIECE);
    let mut pos = 0usize;
    loop {
        // SAFETY: the slice is used only for this one decode step; no JavaScript runs (and no
        // engine call is made) while it is alive. A detached buffer reads as empty.
        let (done, read, malformed) = unsafe {
            let src = input.as_bytes().unwrap_or(&[]);
            let src = &src[pos.min(src.len())..];
            if s.fatal {
                let (r, read) = dec.decode_to_string_without_replacement(src, &mut out, last);
                (matches!(r, DecoderResult::InputEmpty), read, matches!(r, DecoderResult::Malformed(..)))
            } else {
                let (r, read, _) = dec.decode_to_string(src, &mut out, last);
                (r == CoderResult::InputEmpty, read, false)
            }
        };
        pos += read;
        if malformed {
            let name = s.encoding.name().to_ascii_lowercase();
            return Err(Exception::throw_type(&ctx, &format!("The encoded data was not valid for encoding {name}")));
        }
        // Not done means the output is full: hand the piece over and go on.
        if out.is_empty() && !done && read == 0 {
            return Err(Exception::throw_internal(&ctx, "TextDecoder made no progress"));
        }
        if !out.is_empty() {
            pieces.set(n_pieces, out.as_str())?;
            n_pieces += 1;
            out.clear();
        }
        if done {
            break;
        }
    }
    if stream {
        s.current = Some(dec);
    }
    Ok(pieces)
}

/// `encode(string)`: the UTF-8 bytes of a string (lone surrogates become U+FFFD).
fn encode<'js>(ctx: Ctx<'js>, s: Value<'js>) -> rquickjs::Result<TypedArray<'js, u8>> {
    let s = usv(&ctx, &s);
    TypedArray::new_copy(ctx, s.as_bytes())
}

/// The host functions the text-encoding prelude receives: `(decoderNew, decode, encode)`.
pub(crate) fn host_functions<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<(Function<'js>, Function<'js>, Function<'js>)> {
    Ok((
        Function::new(ctx.clone(), decoder_new)?,
        Function::new(ctx.clone(), decode)?,
        Function::new(ctx.clone(), encode)?,
    ))
}
