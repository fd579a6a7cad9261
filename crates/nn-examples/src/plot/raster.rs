//! A small RGB raster and the SVG `<image>` element that embeds it as a PNG data URL.
//!
//! Decision regions, cost surfaces and grids of values are one raster each instead of
//! thousands of SVG rectangles: a figure stays at tens of kilobytes however fine its
//! background. The PNG is written here (zlib and CRC-32 from `flate2`, which the workspace
//! already builds for nn-train's MNIST loader), so no image crate is needed.

use std::fmt::Write as _;
use std::io::Write as _;

use flate2::Crc;
use flate2::write::ZlibEncoder;

/// An RGB image, row-major from the top-left pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct Raster {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Raster {
    /// A `width × height` raster whose pixel `(column, row)` is `pixel(column, row)`.
    pub fn from_fn(width: u32, height: u32, mut pixel: impl FnMut(u32, u32) -> [u8; 3]) -> Self {
        let mut rgb = Vec::with_capacity(3 * width as usize * height as usize);
        for row in 0..height {
            for column in 0..width {
                rgb.extend_from_slice(&pixel(column, row));
            }
        }
        Self { width, height, rgb }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixel at `(column, row)`.
    pub fn get(&self, column: u32, row: u32) -> [u8; 3] {
        let i = 3 * (row as usize * self.width as usize + column as usize);
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Sets the pixel at `(column, row)`; outside the raster nothing happens.
    pub fn set(&mut self, column: i64, row: i64, rgb: [u8; 3]) {
        if (0..i64::from(self.width)).contains(&column)
            && (0..i64::from(self.height)).contains(&row)
        {
            let i = 3 * (row as usize * self.width as usize + column as usize);
            self.rgb[i..i + 3].copy_from_slice(&rgb);
        }
    }

    /// Draws a filled disc with an outline, anti-aliased, centred at `(cx, cy)` (pixels).
    pub fn disc(&mut self, (cx, cy): (f64, f64), radius: f64, fill: [u8; 3], outline: [u8; 3]) {
        let reach = radius + 1.0;
        let (c0, c1) = ((cx - reach).floor() as i64, (cx + reach).ceil() as i64);
        let (r0, r1) = ((cy - reach).floor() as i64, (cy + reach).ceil() as i64);
        let ring = (0.3 * radius).max(1.0);
        for row in r0..=r1 {
            for column in c0..=c1 {
                if !(0..i64::from(self.width)).contains(&column)
                    || !(0..i64::from(self.height)).contains(&row)
                {
                    continue;
                }
                let d = (column as f64 + 0.5 - cx).hypot(row as f64 + 0.5 - cy);
                let cover = steps((radius + 0.5 - d).clamp(0.0, 1.0));
                if cover <= 0.0 {
                    continue;
                }
                let inner = steps((radius - ring + 0.5 - d).clamp(0.0, 1.0));
                let colour = blend(outline, fill, inner);
                let below = self.get(column as u32, row as u32);
                self.set(column, row, blend(below, colour, cover));
            }
        }
    }

    /// The colours of the raster and each pixel's index into them, if there are at most
    /// 256 (the figures' rasters are flat regions with anti-aliasing in a few steps).
    fn palette(&self) -> Option<(Vec<[u8; 3]>, Vec<u8>)> {
        let mut colours: Vec<[u8; 3]> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let mut pixels = Vec::with_capacity(self.rgb.len() / 3);
        let mut last: Option<([u8; 3], u8)> = None;
        for p in self.rgb.chunks(3) {
            let c = [p[0], p[1], p[2]];
            // most pixels repeat the one before them
            if let Some((colour, i)) = last
                && colour == c
            {
                pixels.push(i);
                continue;
            }
            let i = match index.get(&c) {
                Some(&i) => i,
                None => {
                    let i = u8::try_from(colours.len()).ok()?;
                    colours.push(c);
                    index.insert(c, i);
                    i
                }
            };
            last = Some((c, i));
            pixels.push(i);
        }
        Some((colours, pixels))
    }

    /// The raster as a PNG file: 8-bit indexed colour when it has at most 256 colours
    /// (rows unfiltered, as recommended for palettes), else 8-bit RGB with each row
    /// filtered by the cheapest of None, Sub and Up.
    ///
    /// # Errors
    /// If compression fails (it does not for in-memory buffers).
    pub fn png(&self) -> std::io::Result<Vec<u8>> {
        let (colour_type, plte, filtered) = match self.palette() {
            Some((colours, pixels)) => {
                let stride = self.width as usize;
                let mut filtered = Vec::with_capacity((stride + 1) * self.height as usize);
                for row in pixels.chunks(stride.max(1)) {
                    filtered.push(0);
                    filtered.extend_from_slice(row);
                }
                (3u8, Some(colours.concat()), filtered)
            }
            None => (2u8, None, self.filtered_rgb()),
        };
        let mut zlib = ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        zlib.write_all(&filtered)?;
        let idat = zlib.finish()?;

        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend_from_slice(&self.width.to_be_bytes());
        ihdr.extend_from_slice(&self.height.to_be_bytes());
        // bit depth 8, the colour type, deflate, adaptive filtering, no interlace
        ihdr.extend_from_slice(&[8, colour_type, 0, 0, 0]);
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8; 4], data: &[u8]| -> std::io::Result<()> {
            let len = u32::try_from(data.len()).map_err(std::io::Error::other)?;
            png.extend_from_slice(&len.to_be_bytes());
            let mut crc = Crc::new();
            crc.update(kind);
            crc.update(data);
            png.extend_from_slice(kind);
            png.extend_from_slice(data);
            png.extend_from_slice(&crc.sum().to_be_bytes());
            Ok(())
        };
        chunk(b"IHDR", &ihdr)?;
        if let Some(plte) = &plte {
            chunk(b"PLTE", plte)?;
        }
        chunk(b"IDAT", &idat)?;
        chunk(b"IEND", &[])?;
        Ok(png)
    }

    /// The RGB rows, each prefixed by its filter type and filtered by it.
    fn filtered_rgb(&self) -> Vec<u8> {
        let stride = 3 * self.width as usize;
        let mut filtered = Vec::with_capacity((stride + 1) * self.height as usize);
        let zero = vec![0u8; stride];
        for (r, row) in self.rgb.chunks(stride.max(1)).enumerate() {
            let above = if r == 0 {
                &zero[..]
            } else {
                &self.rgb[(r - 1) * stride..r * stride]
            };
            let sub: Vec<u8> = (0..stride)
                .map(|i| row[i].wrapping_sub(if i >= 3 { row[i - 3] } else { 0 }))
                .collect();
            let up: Vec<u8> = (0..stride).map(|i| row[i].wrapping_sub(above[i])).collect();
            // the usual heuristic: the smallest sum of the bytes read as signed
            let cost = |bytes: &[u8]| -> u64 {
                bytes
                    .iter()
                    .map(|&b| u64::from((b as i8).unsigned_abs()))
                    .sum()
            };
            let (kind, best) = [(0u8, row), (1, &sub[..]), (2, &up[..])]
                .into_iter()
                .min_by_key(|(_, bytes)| cost(bytes))
                .unwrap_or((0, row));
            filtered.push(kind);
            filtered.extend_from_slice(best);
        }
        filtered
    }

    /// An SVG `<image>` element showing the raster over the rectangle at `(x, y)` of size
    /// `width × height` (SVG units; the raster may have more pixels than that, for sharp
    /// edges on high-density screens).
    ///
    /// # Errors
    /// As [`Raster::png`].
    pub fn svg_image(
        &self,
        (x, y): (i32, i32),
        (width, height): (u32, u32),
    ) -> std::io::Result<String> {
        Ok(format!(
            "<image x=\"{x}\" y=\"{y}\" width=\"{width}\" height=\"{height}\" \
             preserveAspectRatio=\"none\" href=\"data:image/png;base64,{}\"/>\n",
            base64(&self.png()?)
        ))
    }
}

/// Anti-aliasing coverage rounded to eighths: edges stay smooth, and a figure's raster
/// keeps few enough colours for an indexed PNG.
pub fn steps(t: f64) -> f64 {
    (t * 8.0).round() / 8.0
}

/// `(1 − t) a + t b`, per channel.
pub fn blend(a: [u8; 3], b: [u8; 3], t: f64) -> [u8; 3] {
    let mix = |a: u8, b: u8| (f64::from(a) + t * (f64::from(b) - f64::from(a))).round() as u8;
    [mix(a[0], b[0]), mix(a[1], b[1]), mix(a[2], b[2])]
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * k)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `svg` with `element` inserted right after the first element inside `<svg …>` (the
/// background that plotters fills first), so that everything drawn afterwards is on top.
/// `None` if `svg` does not have that shape.
pub fn insert_after_background(svg: &str, element: &str) -> Option<String> {
    let open = svg.find("<svg")?;
    let first = open + svg[open..].find('>')? + 1;
    let background = first + svg[first..].find('<')?;
    let end = background + svg[background..].find("/>")? + 2;
    let mut out = String::with_capacity(svg.len() + element.len() + 1);
    out.push_str(&svg[..end]);
    let _ = write!(out, "\n{}", element.trim_end());
    out.push_str(&svg[end..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_test_vectors() {
        // RFC 4648, section 10
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }

    /// Decodes the PNGs written here (8-bit RGB or indexed, filters None/Sub/Up), checking
    /// every chunk's CRC.
    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        use std::io::Read as _;
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let (mut at, mut chunks) = (8, Vec::new());
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let (kind, data) = (&png[at + 4..at + 8], &png[at + 8..at + 8 + len]);
            let mut crc = Crc::new();
            crc.update(&png[at + 4..at + 8 + len]);
            assert_eq!(&png[at + 8 + len..at + 12 + len], &crc.sum().to_be_bytes());
            chunks.push((kind.to_vec(), data.to_vec()));
            at += 12 + len;
        }
        let find = |k: &[u8]| {
            chunks
                .iter()
                .find(|(kind, _)| kind == k)
                .map(|(_, d)| d.clone())
        };
        let ihdr = find(b"IHDR").unwrap();
        let w = u32::from_be_bytes(ihdr[0..4].try_into().unwrap());
        let h = u32::from_be_bytes(ihdr[4..8].try_into().unwrap());
        assert_eq!(chunks.last().unwrap().0, b"IEND");
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&find(b"IDAT").unwrap()[..])
            .read_to_end(&mut raw)
            .unwrap();
        let bpp = if ihdr[9] == 3 { 1 } else { 3 };
        let stride = bpp * w as usize;
        let mut rows: Vec<Vec<u8>> = Vec::new();
        for line in raw.chunks(stride + 1) {
            let (kind, bytes) = (line[0], &line[1..]);
            let mut row = bytes.to_vec();
            for i in 0..stride {
                row[i] = match kind {
                    0 => bytes[i],
                    1 => bytes[i].wrapping_add(if i >= bpp { row[i - bpp] } else { 0 }),
                    2 => bytes[i].wrapping_add(rows.last().map_or(0, |p| p[i])),
                    other => panic!("filter {other}"),
                };
            }
            rows.push(row);
        }
        let data = rows.concat();
        let rgb = match find(b"PLTE") {
            Some(palette) => data
                .iter()
                .flat_map(|&i| palette[3 * i as usize..3 * i as usize + 3].to_vec())
                .collect(),
            None => data,
        };
        (w, h, rgb)
    }

    #[test]
    fn few_colours_make_an_indexed_png_and_many_an_rgb_one_both_lossless() {
        // 15 colours: indexed
        let few = Raster::from_fn(5, 3, |c, row| [c as u8 * 40, row as u8 * 90, 7]);
        let png = few.png().unwrap();
        assert_eq!(png[25], 3, "colour type");
        assert_eq!(decode(&png), (5, 3, few.rgb.clone()));
        // 400 colours: RGB with filters
        let many = Raster::from_fn(20, 20, |c, row| {
            [c as u8 * 12, row as u8 * 12, (c + row) as u8]
        });
        let png = many.png().unwrap();
        assert_eq!(png[25], 2, "colour type");
        assert_eq!(decode(&png), (20, 20, many.rgb.clone()));
        // the IEND chunk's CRC is the well-known constant AE 42 60 82
        assert!(png.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]));
    }

    #[test]
    fn the_image_goes_after_the_background() {
        let svg = "<svg width=\"2\">\n<rect x=\"0\"/>\n<text>a</text>\n</svg>";
        let out = insert_after_background(svg, "<image/>").unwrap();
        assert_eq!(
            out,
            "<svg width=\"2\">\n<rect x=\"0\"/>\n<image/>\n<text>a</text>\n</svg>"
        );
        assert!(insert_after_background("<p>", "<image/>").is_none());
    }

    #[test]
    fn a_disc_covers_its_centre_and_not_its_surroundings() {
        let mut r = Raster::from_fn(20, 20, |_, _| [255, 255, 255]);
        r.disc((10.0, 10.0), 4.0, [200, 0, 0], [0, 0, 0]);
        assert_eq!(r.get(10, 10), [200, 0, 0]);
        assert_eq!(r.get(0, 0), [255, 255, 255]);
        assert_eq!(r.get(10, 16), [255, 255, 255]);
    }
}
