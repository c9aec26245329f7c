//! DICOM pixel data after decompression: splitting into frames, stored
//! values to modality values (bits stored, sign, rescale) and colour models
//! to RGB (planar configuration, `YBR_FULL`, `YBR_FULL_422`, palette colour).
//! Codecs live elsewhere (JPEG 2000 and JPEG-LS in `dicom-pixeldata`,
//! baseline/lossless JPEG in `jpeg-decoder`); RLE Lossless, a byte-run
//! format of a few lines (PS3.5 Annex G), is decoded here because the
//! library's decoder stops at 16 bits.

use std::borrow::Cow;

/// Pixel attributes of an image (Image Pixel module, PS3.3 C.7.6.3).
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub rows: u32,
    pub cols: u32,
    pub samples: u16,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub high_bit: u16,
    pub signed: bool,
    /// Colour-by-plane (Planar Configuration 1).
    pub planar: bool,
    pub frames: u32,
}

impl Layout {
    pub fn pixels(&self) -> usize {
        self.rows as usize * self.cols as usize
    }

    pub fn bytes_per_sample(&self) -> usize {
        usize::from(self.bits_allocated).div_ceil(8)
    }

    /// Bytes of one frame in the native (uncompressed) encoding, or `None`
    /// for 1-bit data (frames are packed back to back in bits).
    pub fn native_frame_len(&self, ybr_422: bool) -> Option<usize> {
        if self.bits_allocated == 1 {
            return None;
        }
        let samples = if ybr_422 {
            self.pixels() * 2
        } else {
            self.pixels() * usize::from(self.samples)
        };
        Some(samples * self.bytes_per_sample())
    }

    /// Bytes of one decoded frame (interleaved samples, little endian).
    pub fn decoded_frame_len(&self) -> usize {
        self.pixels() * usize::from(self.samples) * self.bytes_per_sample()
    }

    /// Check the attributes this module relies on.
    pub fn validate(&self) -> Result<(), String> {
        if !matches!(self.bits_allocated, 1 | 8 | 16 | 32) {
            return Err(format!(
                "{} bits allocated per sample are not supported (expected 1, 8, 16 or 32)",
                self.bits_allocated
            ));
        }
        if self.bits_stored == 0 || self.bits_stored > self.bits_allocated {
            return Err(format!(
                "bits stored ({}) must be between 1 and bits allocated ({})",
                self.bits_stored, self.bits_allocated
            ));
        }
        if self.high_bit >= self.bits_allocated || self.high_bit + 1 < self.bits_stored {
            return Err(format!(
                "high bit {} does not fit {} bits stored in {} allocated",
                self.high_bit, self.bits_stored, self.bits_allocated
            ));
        }
        if self.samples != 1 && self.samples != 3 {
            return Err(format!(
                "{} samples per pixel are not supported (expected 1 or 3)",
                self.samples
            ));
        }
        Ok(())
    }
}

/// Little-endian bytes of a native Pixel Data value, as the parser holds
/// it: bytes (OB) in file order, or 16/32-bit words already converted from
/// the file's byte order.
pub(crate) fn native_bytes(
    value: &dicom_core::PrimitiveValue,
    bytes_per_sample: usize,
    big_endian: bool,
) -> Result<Cow<'_, [u8]>, String> {
    use dicom_core::PrimitiveValue as P;
    let words_in_order = !(big_endian && bytes_per_sample == 4);
    Ok(Cow::Owned(match value {
        P::U8(v) if !big_endian || bytes_per_sample == 1 => return Ok(Cow::Borrowed(&v[..])),
        // On little-endian hosts the parser's words are already the bytes
        // we want: no copy.
        P::U16(_) | P::I16(_) | P::U32(_) | P::I32(_)
            if cfg!(target_endian = "little") && words_in_order =>
        {
            return Ok(value.to_bytes())
        }
        P::U8(v) => {
            let mut out = v.to_vec();
            for s in out.chunks_exact_mut(bytes_per_sample) {
                s.reverse();
            }
            out
        }
        P::U16(v) => {
            let mut out: Vec<u8> = v.iter().flat_map(|w| w.to_le_bytes()).collect();
            if big_endian && bytes_per_sample == 4 {
                // The high word of each 32-bit sample came first.
                for s in out.chunks_exact_mut(4) {
                    s.rotate_left(2);
                }
            }
            out
        }
        P::I16(v) => v.iter().flat_map(|w| w.to_le_bytes()).collect(),
        P::U32(v) => v.iter().flat_map(|w| w.to_le_bytes()).collect(),
        P::I32(v) => v.iter().flat_map(|w| w.to_le_bytes()).collect(),
        P::Empty => Vec::new(),
        _ => return Err("the pixel data element has an unexpected type".into()),
    }))
}

/// Split native pixel data into frames of little-endian samples (1-bit
/// data unpacked to one byte per sample, 0 or 1).
pub(crate) fn native_frames(
    data: &[u8],
    layout: &Layout,
    ybr_422: bool,
) -> Result<Vec<Vec<u8>>, String> {
    let frames = layout.frames as usize;
    if let Some(len) = layout.native_frame_len(ybr_422) {
        let need = len.checked_mul(frames).ok_or("frame size overflows")?;
        if data.len() < need {
            return Err(format!(
                "the pixel data holds {} bytes but {} frame(s) of {}×{} need {need} \
                 (truncated or inconsistent file)",
                data.len(),
                frames,
                layout.cols,
                layout.rows
            ));
        }
        Ok(data[..need].chunks_exact(len).map(<[u8]>::to_vec).collect())
    } else {
        let bits = layout.pixels() * usize::from(layout.samples);
        let need = bits.checked_mul(frames).ok_or("frame size overflows")?;
        if data.len().saturating_mul(8) < need {
            return Err(format!(
                "the 1-bit pixel data holds {} bytes but {} frame(s) need {} bits \
                 (truncated or inconsistent file)",
                data.len(),
                frames,
                need
            ));
        }
        Ok((0..frames)
            .map(|f| {
                (f * bits..(f + 1) * bits)
                    .map(|i| (data[i / 8] >> (i % 8)) & 1)
                    .collect()
            })
            .collect())
    }
}

/// Stored values of one frame (interleaved, little endian) as integers:
/// bits above the high bit and below the stored range masked off, signed
/// values sign-extended from `bits_stored`.
pub(crate) fn stored_values(frame: &[u8], layout: &Layout) -> Vec<i64> {
    let bytes = if layout.bits_allocated == 1 {
        1
    } else {
        layout.bytes_per_sample()
    };
    let shift = u32::from(layout.high_bit + 1 - layout.bits_stored);
    let bits = u32::from(layout.bits_stored);
    let mask: u64 = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let signed = layout.signed;
    let sign = 1u64 << (bits - 1);
    let value = move |raw: u64| -> i64 {
        let v = (raw >> shift) & mask;
        if signed && v & sign != 0 {
            v as i64 - (1i64 << bits)
        } else {
            v as i64
        }
    };
    // One loop per sample width (the generic byte loop is several times
    // slower in unoptimised builds).
    match bytes {
        1 => frame.iter().map(|&b| value(u64::from(b))).collect(),
        2 => frame
            .chunks_exact(2)
            .map(|c| value(u64::from(u16::from_le_bytes([c[0], c[1]]))))
            .collect(),
        _ => frame
            .chunks_exact(4)
            .map(|c| value(u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))))
            .collect(),
    }
}

/// Interleave a colour-by-plane frame (RRR…GGG…BBB…).
pub(crate) fn interleave_planes<T: Copy>(planar: &[T], pixels: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(planar.len());
    for i in 0..pixels {
        for c in 0..3 {
            out.push(planar[c * pixels + i]);
        }
    }
    out
}

/// `YBR_FULL` to RGB as PS3.3 C.7.6.3.1.2 (ITU-T T.871), in single
/// precision with round-half-up and clamping, as pydicom and GDCM do.
pub(crate) fn ybr_full_to_rgb(y: f32, cb: f32, cr: f32) -> [f32; 3] {
    let (cb, cr) = (cb - 128.0, cr - 128.0);
    let r = y + 1.402 * cr;
    let g = y + (-0.114 * 1.772 / 0.587) * cb + (-0.299 * 1.402 / 0.587) * cr;
    let b = y + 1.772 * cb;
    [r, g, b].map(|v| (v + 0.5).floor().clamp(0.0, 255.0))
}

/// Expand native `YBR_FULL_422` (Y1 Y2 Cb Cr per horizontal pixel pair) to
/// interleaved `YBR_FULL`.
pub(crate) fn expand_422(frame: &[i64], layout: &Layout) -> Result<Vec<i64>, String> {
    if !layout.cols.is_multiple_of(2) {
        return Err(format!(
            "YBR_FULL_422 needs an even number of columns, not {}",
            layout.cols
        ));
    }
    let mut out = Vec::with_capacity(layout.pixels() * 3);
    for q in frame.chunks_exact(4).take(layout.pixels() / 2) {
        out.extend_from_slice(&[q[0], q[2], q[3], q[1], q[2], q[3]]);
    }
    Ok(out)
}

/// A palette colour lookup table (PS3.3 C.7.6.3.1.5/6).
#[derive(Debug, Clone)]
pub(crate) struct Palette {
    pub first: i64,
    /// Red, green and blue entries scaled to 0..=255.
    pub tables: [Vec<f32>; 3],
}

impl Palette {
    /// `descriptor`: entries (0 = 65536), first mapped value, bits per
    /// entry; `data`: the LUT data bytes (little endian words).
    pub fn new(descriptors: [&[i64]; 3], data: [&[u8]; 3]) -> Result<Palette, String> {
        let mut tables: [Vec<f32>; 3] = Default::default();
        let mut first = 0;
        for (c, (d, bytes)) in descriptors.iter().zip(data).enumerate() {
            let [entries, f, bits] = d[..] else {
                return Err("a palette LUT descriptor does not have three values".into());
            };
            let entries = if entries == 0 { 65536 } else { entries };
            if !(1..=65536).contains(&entries) {
                return Err(format!("a palette LUT has {entries} entries"));
            }
            let entries = entries as usize;
            first = f;
            // 8-bit entries are packed one per byte, 16-bit ones per word
            // (pydicom's rule: the data length tells which).
            let table: Vec<f32> =
                if bytes.len() == entries || (bits == 8 && bytes.len() < 2 * entries) {
                    bytes.iter().take(entries).map(|&b| f32::from(b)).collect()
                } else {
                    bytes
                        .chunks_exact(2)
                        .take(entries)
                        .map(|w| {
                            let v = u16::from_le_bytes([w[0], w[1]]);
                            if bits == 8 {
                                f32::from(v & 0xFF)
                            } else {
                                f32::from(v >> 8)
                            }
                        })
                        .collect()
                };
            if table.len() < entries {
                return Err(format!(
                    "the palette LUT data holds {} of {entries} entries",
                    table.len()
                ));
            }
            tables[c] = table;
        }
        Ok(Palette { first, tables })
    }

    pub fn map(&self, v: i64) -> [f32; 3] {
        let [r, g, b] = &self.tables;
        let last = r.len().min(g.len()).min(b.len()).saturating_sub(1);
        let i = (v - self.first).clamp(0, last as i64) as usize;
        [r[i], g[i], b[i]]
    }
}

/// Decode one RLE Lossless frame (PS3.5 Annex G) into interleaved
/// little-endian samples.
pub(crate) fn decode_rle_frame(data: &[u8], layout: &Layout) -> Result<Vec<u8>, String> {
    let le32 = |at: usize| {
        data.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or("the RLE header is truncated")
    };
    let bytes = layout.bytes_per_sample();
    let samples = usize::from(layout.samples);
    let want = bytes * samples;
    let segments = le32(0)?;
    if segments != want {
        return Err(format!(
            "the RLE frame has {segments} segment(s) but {samples} sample(s) of {} bits need {want}",
            layout.bits_allocated
        ));
    }
    let pixels = layout.pixels();
    // PackBits expands 2 bytes to at most 128: a frame far too short for
    // its header is refused before its buffer is allocated.
    if data.len().saturating_mul(64) < pixels.saturating_mul(segments) {
        return Err(format!(
            "the RLE frame holds {} bytes, too few for {} × {} pixels (truncated or corrupt)",
            data.len(),
            layout.cols,
            layout.rows
        ));
    }
    let mut out = vec![0u8; pixels * want];
    for seg in 0..segments {
        let start = le32(4 + 4 * seg)?;
        let end = if seg + 1 < segments {
            le32(8 + 4 * seg)?
        } else {
            data.len()
        };
        if start < 64 || start > end || end > data.len() {
            return Err(format!("RLE segment {} has invalid offsets", seg + 1));
        }
        let decoded = unpack_bits(&data[start..end], pixels);
        if decoded.len() < pixels {
            return Err(format!(
                "RLE segment {} decodes to {} of {pixels} bytes (truncated or corrupt)",
                seg + 1,
                decoded.len()
            ));
        }
        // Segments: per sample, most significant byte first.
        let (sample, byte) = (seg / bytes, bytes - 1 - seg % bytes);
        for (i, b) in decoded.into_iter().enumerate() {
            out[(i * samples + sample) * bytes + byte] = b;
        }
    }
    Ok(out)
}

/// `PackBits`, stopping once `limit` bytes are out.
fn unpack_bits(src: &[u8], limit: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(limit);
    let mut i = 0;
    while i < src.len() && out.len() < limit {
        let n = src[i] as i8;
        i += 1;
        if n >= 0 {
            let count = n as usize + 1;
            let end = (i + count).min(src.len());
            out.extend_from_slice(&src[i..end]);
            i = end;
        } else if n != -128 {
            let count = (1 - i32::from(n)) as usize;
            if let Some(&b) = src.get(i) {
                out.extend(std::iter::repeat_n(b, count));
            }
            i += 1;
        }
    }
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(bits_allocated: u16, bits_stored: u16, signed: bool) -> Layout {
        Layout {
            rows: 1,
            cols: 2,
            samples: 1,
            bits_allocated,
            bits_stored,
            high_bit: bits_stored - 1,
            signed,
            planar: false,
            frames: 1,
        }
    }

    #[test]
    fn stored_values_mask_and_sign_extend() {
        // 12 bits stored with junk above: 0x5FFF -> 4095 unsigned, -1 signed.
        let frame = [0xFF, 0x5F, 0x00, 0xA8];
        assert_eq!(stored_values(&frame, &layout(16, 12, false)), [4095, 2048]);
        assert_eq!(stored_values(&frame, &layout(16, 12, true)), [-1, -2048]);
        let frame = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0x80];
        assert_eq!(
            stored_values(&frame, &layout(32, 32, false)),
            [4294967295, 2147483648]
        );
        assert_eq!(
            stored_values(&frame, &layout(32, 32, true)),
            [-1, -2147483648]
        );
    }

    #[test]
    fn packbits_runs_literals_and_noop() {
        // literal 2 bytes, run of 3, no-op, literal 1.
        let src = [1, 10, 11, (-2i8) as u8, 7, 0x80, 0, 9];
        assert_eq!(unpack_bits(&src, 100), [10, 11, 7, 7, 7, 9]);
        assert_eq!(unpack_bits(&src, 4), [10, 11, 7, 7]);
        // A run at the end without its byte stops.
        assert_eq!(unpack_bits(&[(-5i8) as u8], 10), Vec::<u8>::new());
    }

    #[test]
    fn ybr_conversion_matches_the_standard() {
        assert_eq!(ybr_full_to_rgb(128.0, 128.0, 128.0), [128.0, 128.0, 128.0]);
        // Pure red in YBR_FULL (T.871): Y 76.245, Cb 84.972, Cr 255.5.
        assert_eq!(ybr_full_to_rgb(76.0, 85.0, 255.0), [254.0, 0.0, 0.0]);
    }
}
