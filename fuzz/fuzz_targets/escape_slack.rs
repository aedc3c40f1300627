//! `slack_escape` on arbitrary text: the output holds no raw `<`, `>` or `&` (only the
//! `&lt;` `&gt;` `&amp;` entities), every `*` `_` `~` `` ` `` is followed by a zero-width
//! space (so it cannot open formatting), and undoing both gives the input back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsift_digest::channel::slack_escape;

const ZWSP: char = '\u{200B}';

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let out = slack_escape(s);
    let mut back = String::with_capacity(s.len());
    let mut rest = out.as_str();
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            '&' => {
                let (ch, len) = if rest.starts_with("amp;") {
                    ('&', 4)
                } else if rest.starts_with("lt;") {
                    ('<', 3)
                } else if rest.starts_with("gt;") {
                    ('>', 3)
                } else {
                    panic!("raw & in {out:?}");
                };
                back.push(ch);
                rest = &rest[len..];
            }
            '<' | '>' => panic!("raw {c} in {out:?}"),
            '*' | '_' | '~' | '`' => {
                back.push(c);
                rest = rest
                    .strip_prefix(ZWSP)
                    .unwrap_or_else(|| panic!("{c} without a zero-width space in {out:?}"));
            }
            c => back.push(c),
        }
    }
    assert_eq!(back, s, "escaping lost text: {out:?}");
});
