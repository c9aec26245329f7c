//! The stream walker: reads a DICOM file's element headers the way
//! `dicom-object`/`dicom-parser` 0.8 will, before they see the bytes.
//!
//! The parser allocates a buffer of an element's declared length before it
//! reads the value, so a corrupt length asks for up to 4 GiB. The walker
//! refuses every length that runs past the end of its container before the
//! parser runs. That only protects the parser if both agree, element by
//! element, on where each element starts: a single disagreement and the
//! parser reads lengths from bytes the walker took for a value (fuzzing
//! found 2.1–4.0 GiB asks each time). So the walker reproduces the parser's
//! reading, and where the parser would read differently from the standard
//! (a value that is not a whole number of its VR's values, a VR whose
//! length field it reads with the wrong width, a delimiter inside a
//! sequence of defined length) it refuses the element or rewrites its VR so
//! that both read it the same way. It never stops half-way and leaves the
//! rest to the parser.
//!
//! What it mirrors (dicom-object 0.8.2, dicom-parser 0.8.2,
//! dicom-encoding 0.8.2):
//! - the file meta group is read in Explicit VR Little Endian until the
//!   byte count in its group length is reached (not until group 0002
//!   ends); the data set starts there and its transfer syntax is the last
//!   (0002,0010) read;
//! - the data set is read in the transfer syntax's encoding (implicit VR
//!   little endian, explicit VR little or big endian), group 0002 included;
//! - in explicit VR, OB, OD, OF, OL, OW, SQ, UC, UR, UT, UN and any unknown
//!   VR have a 4-byte length and every other VR (SV, UV and OV too) a 2-byte
//!   one; in implicit VR the VR is the standard dictionary's (relaxed), OW
//!   for pixel and overlay data, UN for unknown tags;
//! - numeric values (US, SS, OW: 2 bytes; UL, SL, FL, OF, OL, AT: 4; FD,
//!   OD, SV, UV, OV: 8) are read as `length / size` whole values but the
//!   position advances by `length`: a length that is not a multiple of the
//!   size leaves the reader short of where the next element starts; tags
//!   whose dictionary VR is "US or SS" are read as SS when pixels are signed;
//! - an element of undefined length is a sequence when its VR is SQ,
//!   encapsulated pixel data when it is (7FE0,0010), and a sequence
//!   otherwise; the first fragment (basic offset table) is read as 32-bit
//!   values.

use std::borrow::Cow;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_encoding::Endianness;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::{syntax_name, unsupported};
use crate::error::RenderError;

/// Deepest sequence nesting accepted (real files rarely exceed 5).
const MAX_NESTING: u32 = 32;

const UNDEFINED: u32 = u32::MAX;

const IMPLICIT_LE: &str = "1.2.840.10008.1.2";

/// Walk the stream (see the module documentation); returns the bytes to
/// parse, with tolerated VR fields rewritten, and the warnings to show.
pub(super) fn check_stream(bytes: &[u8]) -> Result<(Cow<'_, [u8]>, Vec<String>), RenderError> {
    // The parser's preamble detection: "DICM" at 128, else at 0, else it
    // refuses the file itself before reading any length.
    let start = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        132
    } else if bytes.starts_with(b"DICM") {
        4
    } else {
        return Ok((Cow::Borrowed(bytes), Vec::new()));
    };
    let (data_start, syntax) = walk_meta(bytes, start)?;
    let syntax = syntax.ok_or_else(|| {
        unsupported("the file meta group has no transfer syntax (0002,0010) (corrupt file)")
    })?;
    let Some(ts) = TransferSyntaxRegistry.get(&syntax) else {
        let uid = syntax.trim_end_matches(['\0', ' ']);
        return Err(unsupported(match syntax_name(uid) {
            Some(name) => format!("{name} ({uid}) is not supported"),
            None => format!("the transfer syntax {uid} is unknown and not supported"),
        }));
    };
    let mut walker = Walker {
        bytes,
        explicit: ts.uid() != IMPLICIT_LE,
        big: ts.endianness() == Endianness::Big,
        patches: Vec::new(),
    };
    walker.elements(data_start, None, 0)?;
    if walker.patches.is_empty() {
        return Ok((Cow::Borrowed(bytes), Vec::new()));
    }
    let mut patched = bytes.to_vec();
    let mut warnings = Vec::new();
    for (at, vr, warning) in walker.patches {
        patched[at..at + 2].copy_from_slice(&vr);
        warnings.push(warning);
    }
    Ok((Cow::Owned(patched), warnings))
}

/// Whether dicom-encoding 0.8 reads this explicit VR with a 4-byte length
/// (after 2 reserved bytes). Unknown VRs are read as UN.
fn parser_long(vr: Option<VR>) -> bool {
    use VR as V;
    match vr {
        None => true,
        Some(vr) => matches!(
            vr,
            V::OB | V::OD | V::OF | V::OL | V::OW | V::SQ | V::UC | V::UR | V::UT | V::UN
        ),
    }
}

/// Size of one value of a VR the parser reads as numbers (it reads
/// `length / size` of them); 1 for text and bytes, read whole.
fn value_size(vr: VR) -> u32 {
    use VR as V;
    match vr {
        V::US | V::SS | V::OW => 2,
        V::AT | V::UL | V::SL | V::FL | V::OF | V::OL => 4,
        V::FD | V::OD | V::SV | V::UV | V::OV => 8,
        _ => 1,
    }
}

/// The VR the parser gives an element in Implicit VR Little Endian.
fn implicit_vr(tag: Tag) -> VR {
    if tag == Tag(0x7FE0, 0x0010) || (tag.0 >> 8 == 0x60 && tag.1 == 0x3000) {
        VR::OW
    } else {
        StandardDataDictionary
            .by_tag(tag)
            .map_or(VR::UN, |e| e.vr().relaxed())
    }
}

/// Whether the parser may read this tag as SS whatever VR the file gives
/// ("US or SS" in the dictionary, read as SS when pixels are signed).
fn is_xs(tag: Tag) -> bool {
    StandardDataDictionary
        .by_tag(tag)
        .is_some_and(|e| e.vr() == VirtualVr::Xs)
}

/// Groups the image cannot be shown without: an element there is refused,
/// not tolerated, when it cannot be read as written.
fn needed(group: u16) -> bool {
    matches!(group, 0x0002 | 0x0028 | 0x7FE0)
}

fn claims(what: &str, len: u32, remain: usize) -> RenderError {
    unsupported(format!(
        "{what} claims {len} bytes but only {remain} remain (truncated or corrupt file)"
    ))
}

fn truncated(what: &str) -> RenderError {
    unsupported(format!("{what} is truncated (corrupt file)"))
}

/// The file meta group as dicom-object's meta reader reads it: a group
/// length element, then explicit VR little endian elements (of any group)
/// until that many bytes are read. Returns where the data set starts and
/// the last transfer syntax UID read.
fn walk_meta(bytes: &[u8], start: usize) -> Result<(usize, Option<String>), RenderError> {
    let le16 = |p: usize| {
        bytes
            .get(p..p.checked_add(2)?)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let le32 = |p: usize| {
        bytes
            .get(p..p.checked_add(4)?)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    // (tag, length, header size) of the element at `p`.
    let header = |p: usize| -> Result<(u16, u16, u32, usize), RenderError> {
        let (Some(group), Some(elem)) = (le16(p), le16(p + 2)) else {
            return Err(truncated("the file meta group"));
        };
        let (len, size) = if group == 0xFFFE {
            (le32(p + 4), 8)
        } else {
            let vr = bytes
                .get(p + 4..p + 6)
                .and_then(|v| VR::from_binary([v[0], v[1]]));
            if parser_long(vr) {
                (le32(p + 8), 12)
            } else {
                (le16(p + 6).map(u32::from), 8)
            }
        };
        let len = len.ok_or_else(|| truncated("the file meta group"))?;
        Ok((group, elem, len, size))
    };
    let (group, elem, len, size) = header(start)?;
    if (group, elem) != (0x0002, 0x0000) || len != 4 {
        return Err(unsupported(
            "the file meta group does not start with its group length (0002,0000) (corrupt file)",
        ));
    }
    let group_length = le32(start + size).ok_or_else(|| truncated("the file meta group"))?;
    let mut pos = start + size + 4;
    let mut read: u32 = 0;
    let mut syntax = None;
    while read < group_length {
        let (group, elem, len, size) = header(pos)?;
        if len == UNDEFINED {
            return Err(unsupported(format!(
                "element ({group:04X},{elem:04X}) of the file meta group has an undefined length \
                 (corrupt file)"
            )));
        }
        let body = pos + size;
        let end = body.saturating_add(len as usize);
        if end > bytes.len() {
            return Err(claims(
                &format!("element ({group:04X},{elem:04X})"),
                len,
                bytes.len().saturating_sub(body),
            ));
        }
        if (group, elem) == (0x0002, 0x0010) {
            syntax = Some(String::from_utf8_lossy(&bytes[body..end]).into_owned());
        }
        read = read.saturating_add(size as u32).saturating_add(len);
        pos = end;
    }
    Ok((pos, syntax))
}

/// Walks the data set (see the module documentation).
struct Walker<'a> {
    bytes: &'a [u8],
    explicit: bool,
    /// Explicit VR Big Endian (the file meta group before it is always
    /// little endian and is walked by [`walk_meta`]).
    big: bool,
    /// VR fields to rewrite (offset, new VR), with their warning.
    patches: Vec<(usize, [u8; 2], String)>,
}

impl Walker<'_> {
    fn u16_at(&self, p: usize) -> Option<u16> {
        let b = self.bytes.get(p..p.checked_add(2)?)?;
        let b = [b[0], b[1]];
        Some(if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32_at(&self, p: usize) -> Option<u32> {
        let b = self.bytes.get(p..p.checked_add(4)?)?;
        let b = [b[0], b[1], b[2], b[3]];
        Some(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// The explicit VR of the element at `pos` as the parser will read it
    /// (after any rewrite), and whether its length field is 4 bytes.
    fn explicit_vr(
        &mut self,
        pos: usize,
        group: u16,
        elem: u16,
    ) -> Result<(VR, bool), RenderError> {
        let raw = [self.bytes[pos + 4], self.bytes[pos + 5]];
        match VR::from_binary(raw) {
            // The standard gives these a 4-byte length; dicom-encoding 0.8
            // reads a 2-byte one (from the reserved bytes), so the two
            // would part ways here: read them as UN, which has the layout.
            Some(vr @ (VR::SV | VR::UV | VR::OV)) => {
                if needed(group) {
                    return Err(unsupported(format!(
                        "element ({group:04X},{elem:04X}), needed to show the image, has the \
                         value representation {vr}, which this reader does not support"
                    )));
                }
                self.patches.push((
                    pos + 4,
                    *b"UN",
                    format!(
                        "element ({group:04X},{elem:04X}) ({vr}) read as unknown bytes (UN) \
                         (not needed to show the image)"
                    ),
                ));
                Ok((VR::UN, true))
            }
            Some(vr) => Ok((vr, parser_long(Some(vr)))),
            None => {
                let shown = String::from_utf8_lossy(&raw).escape_debug().to_string();
                if needed(group) {
                    return Err(unsupported(format!(
                        "element ({group:04X},{elem:04X}), needed to show the image, has an \
                         invalid value representation '{shown}' (corrupt file)"
                    )));
                }
                // DCMTK reads an unknown VR with a 2-byte length; so does
                // the parser once the field says LO.
                self.patches.push((
                    pos + 4,
                    *b"LO",
                    format!(
                        "element ({group:04X},{elem:04X}) has a non-standard value \
                         representation '{shown}'; read with a 2-byte length as DCMTK does \
                         (not needed to show the image)"
                    ),
                ));
                Ok((VR::LO, false))
            }
        }
    }

    /// Elements from `pos` to `end`, or to an item delimitation item when
    /// `end` is None (an item of undefined length). Returns where the
    /// parser will be after them.
    fn elements(
        &mut self,
        mut pos: usize,
        end: Option<usize>,
        depth: u32,
    ) -> Result<usize, RenderError> {
        if depth > MAX_NESTING {
            return Err(unsupported(format!(
                "sequences are nested more than {MAX_NESTING} deep (corrupt file)"
            )));
        }
        let limit = end.unwrap_or(self.bytes.len());
        loop {
            if end.is_some() && pos >= limit {
                return Ok(pos);
            }
            if pos + 8 > limit {
                if depth == 0 {
                    // Trailing bytes too short for an element.
                    return Ok(pos);
                }
                return Err(truncated("a sequence item"));
            }
            let (Some(group), Some(elem)) = (self.u16_at(pos), self.u16_at(pos + 2)) else {
                return Err(truncated("an element header"));
            };
            if group == 0xFFFE {
                if elem == 0xE00D && end.is_none() && depth > 0 {
                    return Ok(pos + 8);
                }
                // An item tag where an element belongs: the parser would
                // read on with lengths of its own (fuzzing found 3-4 GiB
                // asks), so it is refused here.
                return Err(unsupported(format!(
                    "an item tag (FFFE,{elem:04X}) where a data element belongs (corrupt file)"
                )));
            }
            let tag = Tag(group, elem);
            let (vr, long) = if self.explicit {
                self.explicit_vr(pos, group, elem)?
            } else {
                (implicit_vr(tag), true)
            };
            let (len, header) = if long {
                let at = if self.explicit { pos + 8 } else { pos + 4 };
                let len = self
                    .u32_at(at)
                    .ok_or_else(|| truncated("an element header"))?;
                (len, at + 4 - pos)
            } else {
                let len = self
                    .u16_at(pos + 6)
                    .ok_or_else(|| truncated("an element header"))?;
                (u32::from(len), 8)
            };
            let body = pos + header;
            if len == UNDEFINED {
                let is_pixels = tag == Tag(0x7FE0, 0x0010);
                pos = if vr == VR::SQ {
                    self.items(body, None, depth + 1, false)?
                } else if is_pixels {
                    self.items(body, None, depth + 1, true)?
                } else if !self.explicit || vr == VR::UN {
                    // The parser reads any other element of undefined
                    // length as a sequence (UN: one in implicit VR, which
                    // it reads in the data set's own encoding).
                    self.items(body, None, depth + 1, false)?
                } else {
                    // Illegal, and the parser would read it as a sequence
                    // of whatever follows (a fuzzed file made it ask for
                    // 3.5 GiB): refuse it here.
                    return Err(unsupported(format!(
                        "element ({group:04X},{elem:04X}) ({vr}) has an undefined length, \
                         allowed only for sequences and pixel data (corrupt file)"
                    )));
                };
                continue;
            }
            let elem_end = body.saturating_add(len as usize);
            if elem_end > limit {
                return Err(claims(
                    &format!("element ({group:04X},{elem:04X})"),
                    len,
                    limit.saturating_sub(body),
                ));
            }
            let size = value_size(vr);
            let xs = is_xs(tag);
            if len % size != 0 || (xs && len % 2 != 0) {
                self.misaligned(pos, tag, vr, len, size.max(if xs { 2 } else { 1 }), long)?;
            }
            if vr == VR::SQ && len > 0 {
                self.items(body, Some(elem_end), depth + 1, false)?;
            }
            pos = elem_end;
        }
    }

    /// An element whose length is not a whole number of its values: the
    /// parser would read fewer bytes than the length says and take the
    /// rest for the next element's header (fuzz finding seed 2 input
    /// 14776: Bits Allocated of 75 bytes, then a 4.0 GiB ask). Refused when
    /// the image needs it or in implicit VR; otherwise its VR is rewritten
    /// to one read whole (LO, or OB for a 4-byte length field) with a
    /// warning, as tolerant toolkits read on past it.
    fn misaligned(
        &mut self,
        pos: usize,
        tag: Tag,
        vr: VR,
        len: u32,
        size: u32,
        long: bool,
    ) -> Result<(), RenderError> {
        let Tag(group, elem) = tag;
        if !self.explicit || needed(group) || is_xs(tag) {
            return Err(unsupported(format!(
                "element ({group:04X},{elem:04X}) ({vr}) is {len} bytes long, not a whole \
                 number of {size}-byte values (corrupt file)"
            )));
        }
        let (to, name) = if long { (*b"OB", "OB") } else { (*b"LO", "LO") };
        self.patches.push((
            pos + 4,
            to,
            format!(
                "element ({group:04X},{elem:04X}) ({vr}) is {len} bytes long, not a whole number \
                 of {size}-byte values; read as {name} (not needed to show the image)"
            ),
        ));
        Ok(())
    }

    /// Items of a sequence (or fragments of encapsulated pixel data), to
    /// `end` (a sequence of defined length) or to the sequence delimiter.
    fn items(
        &mut self,
        mut pos: usize,
        end: Option<usize>,
        depth: u32,
        fragments: bool,
    ) -> Result<usize, RenderError> {
        let what = if fragments {
            "the compressed pixel data"
        } else {
            "a sequence"
        };
        let limit = end.unwrap_or(self.bytes.len());
        let mut first = true;
        loop {
            if end.is_some() && pos >= limit {
                return Ok(pos);
            }
            let (Some(group), Some(elem), Some(len)) =
                (self.u16_at(pos), self.u16_at(pos + 2), self.u32_at(pos + 4))
            else {
                return Err(truncated(what));
            };
            match (group, elem) {
                (0xFFFE, 0xE000) if len == UNDEFINED && !fragments => {
                    pos = self.elements(pos + 8, None, depth + 1)?;
                }
                (0xFFFE, 0xE000) => {
                    let item_end = (pos + 8).saturating_add(len as usize);
                    if len == UNDEFINED || item_end > limit {
                        return Err(claims(
                            if fragments {
                                "a pixel data fragment"
                            } else {
                                "a sequence item"
                            },
                            len,
                            limit.saturating_sub(pos + 8),
                        ));
                    }
                    if fragments && first && len % 4 != 0 {
                        // Read as 32-bit offsets: the parser would stop
                        // short of the next fragment.
                        return Err(unsupported(format!(
                            "{what} has a basic offset table of {len} bytes, not a whole \
                             number of 4-byte offsets (corrupt file)"
                        )));
                    }
                    if !fragments {
                        self.elements(pos + 8, Some(item_end), depth + 1)?;
                    }
                    pos = item_end;
                }
                (0xFFFE, 0xE0DD) if end.is_none() => return Ok(pos + 8),
                (0xFFFE, 0xE0DD) => {
                    // The parser would end the sequence here and read on
                    // from this point, not from the sequence's declared end.
                    return Err(unsupported(format!(
                        "{what} of defined length holds a sequence delimiter (corrupt file)"
                    )));
                }
                _ => {
                    return Err(unsupported(format!(
                        "{what} holds ({group:04X},{elem:04X}) where an item belongs (corrupt file)"
                    )))
                }
            }
            first = false;
        }
    }
}
