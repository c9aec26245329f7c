//! Encapsulated (compressed) DICOM pixel data: which fragments make which
//! frame, and header checks of JPEG-LS codestreams before CharLS allocates
//! from them.

use std::borrow::Cow;

use super::pixels::Layout;

/// The compressed byte stream of each frame. DICOM allows one frame per
/// fragment, one frame over several fragments (found through the Basic
/// Offset Table or, for JPEG, the start-of-image markers), or a single
/// frame over all fragments.
pub(crate) fn frame_streams<'a>(
    fragments: &'a [Vec<u8>],
    offsets: &[u32],
    frames: usize,
    jpeg: bool,
) -> Result<Vec<Cow<'a, [u8]>>, String> {
    let concat = |group: &[&'a Vec<u8>]| -> Cow<'a, [u8]> {
        match group {
            [one] => Cow::Borrowed(one.as_slice()),
            many => Cow::Owned(many.iter().flat_map(|f| f.iter().copied()).collect()),
        }
    };
    let streams: Vec<Cow<'a, [u8]>> = if fragments.len() == frames {
        fragments
            .iter()
            .map(|f| Cow::Borrowed(f.as_slice()))
            .collect()
    } else if frames == 1 {
        let all: Vec<&Vec<u8>> = fragments.iter().collect();
        vec![concat(&all)]
    } else if offsets.len() == frames {
        // Offsets count the bytes of the fragment items (8-byte header
        // plus value) from the first fragment.
        let mut groups: Vec<Vec<&Vec<u8>>> = vec![Vec::new(); frames];
        let mut at = 0u64;
        for fragment in fragments {
            let frame = offsets
                .iter()
                .rposition(|&o| u64::from(o) <= at)
                .ok_or("the basic offset table does not start at the first fragment")?;
            groups[frame].push(fragment);
            at += 8 + fragment.len() as u64;
        }
        groups.iter().map(|g| concat(g)).collect()
    } else if jpeg {
        let mut groups: Vec<Vec<&Vec<u8>>> = Vec::new();
        for fragment in fragments {
            match groups.last_mut() {
                Some(group) if !fragment.starts_with(&[0xFF, 0xD8]) => group.push(fragment),
                _ => groups.push(vec![fragment]),
            }
        }
        groups.iter().map(|g| concat(g)).collect()
    } else {
        return Err(format!(
            "{} fragments for {frames} frames and no offset table to tell them apart",
            fragments.len()
        ));
    };
    if streams.len() != frames || streams.iter().any(|s| s.is_empty()) {
        return Err(format!(
            "the pixel data holds {} compressed frame(s) but the header says {frames}",
            streams.iter().filter(|s| !s.is_empty()).count()
        ));
    }
    Ok(streams)
}

/// Check a JPEG-LS frame header (SOF55) against the DICOM header before
/// CharLS allocates the image it describes.
pub(crate) fn check_jpegls_header(data: &[u8], layout: &Layout) -> Result<(), String> {
    let mut pos = 2;
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err("the frame does not start with a JPEG-LS start-of-image marker".into());
    }
    while let (Some(&0xFF), Some(&marker)) = (data.get(pos), data.get(pos + 1)) {
        let len = data
            .get(pos + 2..pos + 4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or("the JPEG-LS header is truncated")?;
        if marker == 0xF7 {
            let b = data
                .get(pos + 4..pos + 10)
                .ok_or("the JPEG-LS frame header is truncated")?;
            let (bits, h, w, n) = (
                b[0],
                u16::from_be_bytes([b[1], b[2]]),
                u16::from_be_bytes([b[3], b[4]]),
                b[5],
            );
            if (u32::from(w), u32::from(h), u16::from(n))
                != (layout.cols, layout.rows, layout.samples)
                || u16::from(bits) > layout.bits_allocated
            {
                return Err(format!(
                    "the JPEG-LS frame is {w}×{h} with {n} component(s) of {bits} bits but the \
                     DICOM header says {}×{} with {} of {} bits allocated (inconsistent or corrupt file)",
                    layout.cols, layout.rows, layout.samples, layout.bits_allocated
                ));
            }
            return Ok(());
        }
        pos += 2 + len;
    }
    Err("the JPEG-LS frame header is missing or corrupt".into())
}
