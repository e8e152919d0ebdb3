//! Synthetic images for vision requests: pixels drawn from a key (the same key, the same
//! bytes, on every machine) and encoded at send time, never held in the plan. Every image of a
//! run is its own (a server's image cache, keyed by content, never sees one twice); its
//! content is a photo-like mix of smooth colour fields, edges and grain, so JPEG makes bodies
//! of the size real photos make (a few tenths of a byte per pixel), not the few bytes a flat
//! colour would.
//!
//! JPEG comes from `jpeg-encoder` (baseline, quality 85, 4:2:0 chroma). PNG is written here: RGB,
//! one filter-0 scanline after another, in stored (uncompressed) deflate blocks — a valid PNG
//! every decoder reads, of the largest size its dimensions make; what the `png` crate adds
//! (filters, compression, palettes, interlacing, ancillary chunks) a synthetic body does not
//! need.

use crate::rng::Rng;

/// How synthetic images are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Baseline JPEG, quality 85 (photos, screenshots as most clients send them).
    #[default]
    Jpeg,
    /// PNG, RGB, stored without compression (the largest body a size makes).
    Png,
}

impl Format {
    pub const ALL: [Format; 2] = [Format::Jpeg, Format::Png];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
        }
    }

    /// The media type of a data URL.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
        }
    }
}

/// JPEG quality (what most clients and libraries use by default: PIL 75, browsers ~92).
const JPEG_QUALITY: u8 = 85;

/// The encoded bytes of the image `key` makes at `width × height`.
pub fn synth(key: u64, width: u32, height: u32, format: Format) -> Vec<u8> {
    let rgb = pixels(key, width, height);
    match format {
        Format::Jpeg => jpeg(&rgb, width, height),
        Format::Png => png(&rgb, width, height),
    }
}

/// RGB bytes, row by row: a gradient between two colours, a grid of tinted cells whose edges
/// give JPEG something to code, and ±8 of grain.
fn pixels(key: u64, width: u32, height: u32) -> Vec<u8> {
    let mut rng = Rng::new(key);
    let mut colour = || [0; 3].map(|_: u8| rng.below(256) as i32);
    let (from, to) = (colour(), colour());
    let cell = 24 + rng.below(40) as u32;
    let cells_x = width.div_ceil(cell) as usize;
    let tints: Vec<[i32; 3]> = (0..cells_x * height.div_ceil(cell) as usize)
        .map(|_| [0; 3].map(|_: u8| rng.below(97) as i32 - 48))
        .collect();
    // The grain: a cheap 32-bit generator seeded from the key (the main one costs more a byte).
    let mut grain = (key as u32) | 1;
    let mut out = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        for x in 0..width {
            let t = (x + y) as i32 * 256 / (width + height).max(1) as i32;
            let tint = tints[(y / cell) as usize * cells_x + (x / cell) as usize];
            for c in 0..3 {
                grain ^= grain << 13;
                grain ^= grain >> 17;
                grain ^= grain << 5;
                let noise = (grain >> 28) as i32 - 8;
                let v = from[c] + (to[c] - from[c]) * t / 256 + tint[c] + noise;
                out.push(v.clamp(0, 255) as u8);
            }
        }
    }
    out
}

fn jpeg(rgb: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(rgb.len() / 6);
    let encoder = jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY);
    // Sizes are within limits::MAX_IMAGE_SIDE (8192 < 65536) and the buffer is width × height
    // × 3, the two conditions under which the encoder can fail.
    let (w, h) = (width.min(65_535) as u16, height.min(65_535) as u16);
    if encoder
        .encode(rgb, w, h, jpeg_encoder::ColorType::Rgb)
        .is_err()
    {
        return Vec::new();
    }
    out
}

/// The deflate format's largest stored block.
const STORED_BLOCK: usize = 65_535;

fn png(rgb: &[u8], width: u32, height: u32) -> Vec<u8> {
    let row = width as usize * 3;
    let mut raw = Vec::with_capacity((row + 1) * height as usize);
    for line in rgb.chunks(row.max(1)) {
        raw.push(0); // filter: none
        raw.extend_from_slice(line);
    }
    // zlib: a header (deflate, 32 KiB window, no dictionary, fastest), stored blocks, Adler-32.
    let mut zlib = Vec::with_capacity(raw.len() + raw.len() / STORED_BLOCK * 5 + 16);
    zlib.extend_from_slice(&[0x78, 0x01]);
    let blocks = raw.chunks(STORED_BLOCK);
    let last = blocks.len().saturating_sub(1);
    for (i, block) in blocks.enumerate() {
        let len = block.len() as u16;
        zlib.push(u8::from(i == last));
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    if raw.is_empty() {
        zlib.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut out = Vec::with_capacity(zlib.len() + 64);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, filter 0, no interlace
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (ISO 3309, as PNG uses), a table a byte.
pub fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (n, slot) in t.iter_mut().enumerate() {
            let mut c = n as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        t
    });
    !data.iter().fold(!0u32, |c, b| {
        table[((c ^ u32::from(*b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5,552 bytes is the most that can be summed before b must be reduced.
    for block in data.chunks(5552) {
        for &x in block {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// The width and height an encoded image says (a PNG's `IHDR`, a JPEG's start-of-frame), for
/// the simulator, which charges by the pixel.
pub fn dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.get(12..16) == Some(b"IHDR") {
        let be = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
        return Some((be(16)?, be(20)?));
    }
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut at = 2;
    while at + 4 <= bytes.len() {
        if bytes[at] != 0xFF {
            return None;
        }
        let marker = bytes[at + 1];
        let len = u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]) as usize;
        // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let h = u16::from_be_bytes([*bytes.get(at + 5)?, *bytes.get(at + 6)?]);
            let w = u16::from_be_bytes([*bytes.get(at + 7)?, *bytes.get(at + 8)?]);
            return Some((u32::from(w), u32::from(h)));
        }
        at += 2 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CRC-32 bit by bit, the definition the table must agree with.
    fn crc_bitwise(data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn crc_and_adler_match_their_definitions() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926); // the standard check value
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(crc32(&data), crc_bitwise(&data));
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        let (mut a, mut b) = (1u64, 0u64);
        for &x in &data {
            a = (a + u64::from(x)) % 65_521;
            b = (b + a) % 65_521;
        }
        assert_eq!(adler32(&data), ((b << 16) | a) as u32);
    }

    #[test]
    fn a_png_is_well_formed_and_holds_its_pixels() {
        let (w, h) = (300, 230); // 901 bytes a row: several stored blocks
        let bytes = synth(7, w, h, Format::Png);
        assert_eq!(dimensions(&bytes), Some((w, h)));
        // Every chunk's CRC, and the zlib stream's blocks and Adler-32 over the scanlines.
        let mut at = 8;
        let mut idat = Vec::new();
        while at < bytes.len() {
            let len = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("len")) as usize;
            let body = &bytes[at + 4..at + 8 + len];
            let crc =
                u32::from_be_bytes(bytes[at + 8 + len..at + 12 + len].try_into().expect("crc"));
            assert_eq!(crc, crc_bitwise(body));
            if &body[..4] == b"IDAT" {
                idat.extend_from_slice(&body[4..]);
            }
            at += 12 + len;
        }
        assert_eq!(at, bytes.len());
        let mut raw = Vec::new();
        let mut p = 2;
        loop {
            let last = idat[p] & 1 == 1;
            let len = u16::from_le_bytes([idat[p + 1], idat[p + 2]]) as usize;
            let nlen = u16::from_le_bytes([idat[p + 3], idat[p + 4]]);
            assert_eq!(!nlen as usize, len);
            raw.extend_from_slice(&idat[p + 5..p + 5 + len]);
            p += 5 + len;
            if last {
                break;
            }
        }
        assert_eq!(raw.len(), (w as usize * 3 + 1) * h as usize);
        assert_eq!(
            u32::from_be_bytes(idat[p..p + 4].try_into().expect("adler")),
            adler32(&raw)
        );
        let rgb = pixels(7, w, h);
        for (y, line) in raw.chunks(w as usize * 3 + 1).enumerate() {
            assert_eq!(line[0], 0);
            assert_eq!(
                &line[1..],
                &rgb[y * w as usize * 3..(y + 1) * w as usize * 3]
            );
        }
    }

    #[test]
    fn jpegs_are_photo_sized_and_each_key_its_own() {
        let a = synth(1, 640, 480, Format::Jpeg);
        let b = synth(2, 640, 480, Format::Jpeg);
        assert_eq!(
            a,
            synth(1, 640, 480, Format::Jpeg),
            "the same key, the same bytes"
        );
        assert_ne!(a, b);
        assert!(a.starts_with(&[0xFF, 0xD8]) && a.ends_with(&[0xFF, 0xD9]));
        assert_eq!(dimensions(&a), Some((640, 480)));
        let per_pixel = a.len() as f64 / (640.0 * 480.0);
        assert!(
            (0.05..1.5).contains(&per_pixel),
            "{per_pixel} bytes a pixel"
        );
    }
}
