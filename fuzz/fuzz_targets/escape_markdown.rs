//! `md_escape` (the Markdown digest's escaper) on arbitrary one-line text: every
//! character that could start inline markup or raw HTML is backslash-escaped, a leading
//! `-` `+` `=` or `1.` / `1)` cannot start a list or heading, and removing the escapes
//! gives the input back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsift_digest::md_escape;

const MARKUP: &[char] = &['\\', '`', '*', '_', '[', ']', '<', '>', '&', '#', '|', '~'];

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // The escaper is for one line of text (the renderer cleans line breaks out first).
    let s: String = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let out = md_escape(&s);
    let mut back = String::with_capacity(s.len());
    let mut escaped_at = Vec::new();
    let mut chars = out.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars
                    .next()
                    .unwrap_or_else(|| panic!("dangling backslash in {out:?}"));
                escaped_at.push(back.chars().count());
                back.push(next);
            }
            c if MARKUP.contains(&c) => panic!("unescaped {c:?} in {out:?}"),
            c => back.push(c),
        }
    }
    assert_eq!(back, s, "escaping lost text: {out:?}");
    let input: Vec<char> = s.chars().collect();
    if matches!(input.first(), Some('-' | '+' | '=')) {
        assert!(
            escaped_at.contains(&0),
            "leading list/heading marker in {out:?}"
        );
    }
    let digits = input.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 && matches!(input.get(digits), Some('.' | ')')) {
        assert!(
            escaped_at.contains(&digits),
            "list marker not escaped in {out:?}"
        );
    }
});
