//! `discord_escape` on arbitrary text: every markdown character is backslash-escaped, a
//! leading `+` and the `.` of a leading `1.` too, every `@` is followed by a zero-width
//! space, and undoing the escapes gives the input back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsift_digest::channel::discord_escape;

const ZWSP: char = '\u{200B}';
const MARKUP: &[char] = &[
    '\\', '*', '_', '~', '`', '|', '>', '#', '-', '[', ']', '(', ')', '<', ':',
];

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let out = discord_escape(s);
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
            '@' => {
                back.push('@');
                assert_eq!(
                    chars.next(),
                    Some(ZWSP),
                    "@ without a zero-width space in {out:?}"
                );
            }
            c if MARKUP.contains(&c) => panic!("unescaped {c:?} in {out:?}"),
            c => back.push(c),
        }
    }
    assert_eq!(back, s, "escaping lost text: {out:?}");
    // A list marker at the start cannot survive: `+ x` or `12. x`.
    let input: Vec<char> = s.chars().collect();
    if input.first() == Some(&'+') {
        assert!(escaped_at.contains(&0), "leading + not escaped in {out:?}");
    }
    let digits = input.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 && input.get(digits) == Some(&'.') {
        assert!(
            escaped_at.contains(&digits),
            "list marker not escaped in {out:?}"
        );
    }
});
