//! The web-style packs: TextEncoder/TextDecoder, atob/btoa, URL/URLSearchParams,
//! structuredClone, queueMicrotask — each granted explicitly.
//! Run: cargo run -p sandvm --example web_packs
use serde_json::json;

fn main() -> sandvm::Result<()> {
    let caps = sandvm::Capabilities::none()
        .text_encoding(true)
        .base64(true)
        .url(true)
        .structured_clone(true)
        .queue_microtask(true);
    let rt = sandvm::Runtime::new(sandvm::Limits::default())?;
    let ctx = sandvm::Context::new(&rt, sandvm::ContextOptions::default().capabilities(caps))?;
    let done = ctx.eval(
        "const url = new URL('/search?q=sand box', 'https://example.com');
         url.searchParams.append('page', '2');
         ({
           href: url.href,
           bytes: new TextEncoder().encode('€').length,
           b64: btoa('sandvm'),
           clone: structuredClone(new Map([['k', [1, 2]]])).get('k'),
           host: new URL('https://faß.ExAmPlE/').host,
           sjis: new TextDecoder('shift_jis').decode(new Uint8Array([0x82, 0xa0])),
           file: new URL('file:////server/share').pathname,
         })",
    )?;
    println!("{}", done.display);
    assert_eq!(
        done.value,
        Some(
            json!({"href": "https://example.com/search?q=sand+box&page=2", "bytes": 3, "b64": "c2FuZHZt", "clone": [1, 2], "host": "xn--fa-hia.example", "sjis": "あ", "file": "//server/share"})
        )
    );
    Ok(())
}
