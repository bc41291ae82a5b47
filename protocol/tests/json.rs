//! `JSON.stringify` fidelity: numbers and strings as Node 20 writes them.
//! The Node-side strings come from `tests/node/ground_truth.cjs`.

use chat_protocol::json::{js_float_text, stringify};
use proptest::prelude::*;
use serde_json::json;

#[test]
fn floats_as_node_writes_them() {
    // [x, JSON.stringify(x)] from Node.
    let cases = [
        (1.5, "1.5"),
        (0.1, "0.1"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (123456789012345680000.0, "123456789012345680000"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (-0.0, "0"),
        (100.0, "100"),
        (0.000001234, "0.000001234"),
        (1.2345e-7, "1.2345e-7"),
        (9007199254740992.0, "9007199254740992"),
        (18446744073709552000.0, "18446744073709552000"),
        (1.0 / 3.0, "0.3333333333333333"),
        (-1e-7, "-1e-7"),
        (123456789000000.0, "123456789000000"),
    ];
    for (value, node) in cases {
        assert_eq!(js_float_text(value), node, "{value:e}");
    }
}

#[test]
fn exact_ties_take_the_even_digit_as_node_does() {
    // Doubles exactly halfway between two shortest candidates; Rust's `{:e}` rounds up.
    let cases = [
        (0x4313bb36c89077ed_u64, "1388467131260411.2"),
        (0xc30f55c1e3ad53da, "-1102501939358331.2"),
        (0x42d34dff00b7e068, "84902846586753.62"),
        (0x42bd3c22e8174390, "32144120878915.562"),
        (0xc2eea18e376b5b34, "-269433796516569.62"),
    ];
    for (bits, node) in cases {
        assert_eq!(js_float_text(f64::from_bits(bits)), node);
    }
}

#[test]
fn strings_escape_like_json_stringify() {
    assert_eq!(
        stringify(&json!("é\u{1}\n\"\\/\u{7f}\u{2028}")),
        "\"é\\u0001\\n\\\"\\\\/\u{7f}\u{2028}\""
    );
    assert_eq!(
        stringify(&json!("\u{8}\t\u{c}\r\u{1f}")),
        r#""\b\t\f\r\u001f""#
    );
}

#[test]
fn objects_keep_their_key_order() {
    let value: serde_json::Value =
        serde_json::from_str(r#"{"z":1,"a":{"y":[],"b":null}}"#).expect("valid JSON");
    assert_eq!(stringify(&value), r#"{"z":1,"a":{"y":[],"b":null}}"#);
}

#[test]
fn integers_keep_every_digit() {
    assert_eq!(
        stringify(&json!([u64::MAX, i64::MIN, 0])),
        "[18446744073709551615,-9223372036854775808,0]"
    );
}

proptest! {
    /// serde_json escapes a Rust string exactly as `JSON.stringify` does (the same short
    /// escapes, `\u00xx` in lowercase, nothing else), so it checks the run-copying writer on
    /// strings that mix escapes, ASCII and multi-byte characters anywhere.
    #[test]
    fn strings_escape_as_serde_json_does(text in "[\\x00-\\x1f\"\\\\a-z\u{e9}\u{2028}\u{1f600}]{0,40}") {
        let expected = serde_json::to_string(&text).expect("a string serializes");
        prop_assert_eq!(stringify(&json!(text)), expected);
    }

    #[test]
    fn float_text_reads_back_as_the_same_float(value in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let text = js_float_text(value);
        let back: f64 = text.parse().expect("a float text");
        prop_assert!(back == value, "{} -> {} -> {}", value, text, back);
    }

    #[test]
    fn stringify_is_valid_json(value in any::<String>()) {
        let text = stringify(&json!({ "s": value.clone(), "n": [1.25, -3] }));
        let back: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        prop_assert_eq!(back, json!({ "s": value, "n": [1.25, -3] }));
    }
}
