//! Items' scoped JSON as the store keeps it: an LZ4 block (`lz4_flex`) with
//! its length in front, in a BLOB. An item is written once per pull and read
//! when it is opened, and its JSON (code diffs, contracts, test logs) shrinks
//! about threefold: a 10,000-item store is half the size, and a first pull
//! writes (to the WAL, then again to the database) a third of the bytes.
//! Rows written before as JSON text are read as they are.

use rusqlite::types::Value;

use crate::error::{Result, StoreError};

/// Bytes of the length in front of the block (little-endian `u32`).
const LENGTH_BYTES: usize = 4;

/// LZ4 cannot expand a block more than about 255-fold: a stored length
/// beyond this many times the block's size is damage, not data, and is
/// refused before anything is allocated for it.
const MAX_RATIO: usize = 256;

/// Compresses an item's JSON for storing.
pub(crate) fn pack(json: &[u8]) -> Vec<u8> {
    lz4_flex::block::compress_prepend_size(json)
}

/// The JSON of the item stored for `assignment_id` (named in errors):
/// unpacked from a BLOB, or a text row as it is.
pub(crate) fn unpack(stored: Value, assignment_id: &str) -> Result<Vec<u8>> {
    let what = format!("the item of {assignment_id}");
    match stored {
        Value::Text(text) => Ok(text.into_bytes()),
        Value::Blob(blob) => unpack_block(&blob)
            .map_err(|why| StoreError::InvalidState(format!("{what} is damaged: {why}"))),
        other => Err(StoreError::InvalidState(format!(
            "{what} is damaged: a {:?} where JSON belongs",
            other.data_type()
        ))),
    }
}

fn unpack_block(blob: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let (length, block) = blob
        .split_first_chunk::<LENGTH_BYTES>()
        .ok_or_else(|| format!("{} bytes, too short for a compressed item", blob.len()))?;
    let length = usize::try_from(u32::from_le_bytes(*length)).map_err(|e| e.to_string())?;
    if length > block.len().saturating_mul(MAX_RATIO) {
        return Err(format!(
            "it claims {length} bytes from a block of {}",
            block.len()
        ));
    }
    let json = lz4_flex::block::decompress(block, length).map_err(|e| e.to_string())?;
    if json.len() == length {
        Ok(json)
    } else {
        Err(format!("{} bytes where it claims {length}", json.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_json_unpacks_to_itself_and_text_rows_read_as_they_are() {
        let json =
            br#"{"fields":[{"id":"diff","value":"- a\n+ b\n- a\n+ b\n- a\n+ b\n"}]}"#.repeat(40);
        let packed = pack(&json);
        assert!(
            packed.len() * 3 < json.len(),
            "{} of {}",
            packed.len(),
            json.len()
        );
        assert_eq!(unpack(Value::Blob(packed), "asg-1").unwrap(), json);
        assert_eq!(
            unpack(Value::Text("{\"a\":1}".into()), "asg-1").unwrap(),
            b"{\"a\":1}"
        );
        assert_eq!(unpack(Value::Blob(pack(b"")), "asg-1").unwrap(), b"");
    }

    #[test]
    fn damage_is_an_error_that_names_the_row_never_a_panic_or_a_huge_allocation() {
        let json = br#"{"title":"a title","fields":[]}"#.repeat(20);
        let good = pack(&json);
        let mut claims_4_gib = good.clone();
        claims_4_gib[..LENGTH_BYTES].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut claims_more = good.clone();
        let more = u32::try_from(json.len() + 1).unwrap();
        claims_more[..LENGTH_BYTES].copy_from_slice(&more.to_le_bytes());
        for (case, stored) in [
            ("empty", Value::Blob(Vec::new())),
            ("short", Value::Blob(vec![1, 0])),
            ("4 GiB", Value::Blob(claims_4_gib)),
            ("longer", Value::Blob(claims_more)),
            ("cut", Value::Blob(good[..good.len() / 2].to_vec())),
            ("number", Value::Integer(7)),
        ] {
            let e = unpack(stored, "asg-1").expect_err(case);
            assert!(
                e.to_string().contains("the item of asg-1 is damaged"),
                "{case}: {e}"
            );
        }
    }
}
