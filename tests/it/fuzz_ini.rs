//! Property test of the INI parser: any input, however mangled, gives an
//! inventory or an error, never a panic.

use std::path::Path;

use cephalo::inventory::Inventory;
use proptest::prelude::*;

/// Pieces of real inventories, glued in random order with random bytes.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[mons]\n".to_string()),
        Just("[osds:children]\n".to_string()),
        Just("[all:vars]\n".to_string()),
        Just("[a:children]\nb\n[b:children]\na\n".to_string()),
        Just("ceph[01:03] ansible_host=10.0.0.1\n".to_string()),
        Just("h[a:".to_string()),
        Just("x=\"unclosed\n".to_string()),
        Just("host:22 k=v # c\n".to_string()),
        Just("[\n".to_string()),
        Just("\t; comment\r\n".to_string()),
        Just("n[1:99999999999999999999]\n".to_string()),
        "[ -~\t\n\\[\\]:=#;\"']{0,40}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn ini_parser_never_panics(parts in prop::collection::vec(fragment(), 0..12)) {
        let text = parts.concat();
        let _ = Inventory::parse(Path::new("fuzz"), text.as_bytes());
    }

    #[test]
    fn ini_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Inventory::parse(Path::new("fuzz"), &bytes);
    }
}
