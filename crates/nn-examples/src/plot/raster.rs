//! A small RGB raster and the SVG `<image>` element that embeds it as a PNG data URL.
//!
//! Decision regions, cost surfaces and grids of values are one raster each instead of
//! thousands of SVG rectangles: a figure stays at tens of kilobytes however fine its
//! background. The PNG is written by the `png` crate (indexed colour when the raster has
//! at most 256 colours, as the flat regions of a figure do) and embedded as base64.

use std::fmt::Write as _;

use base64::Engine as _;

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

    /// The raster as a PNG file: 8-bit indexed colour when it has at most 256 colours,
    /// else 8-bit RGB; maximum compression with adaptive row filters.
    ///
    /// # Errors
    /// If encoding fails (it does not for in-memory buffers).
    pub fn png(&self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let palette = self.palette();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::High);
        let data = match &palette {
            Some((colours, pixels)) => {
                encoder.set_color(png::ColorType::Indexed);
                encoder.set_palette(colours.concat());
                pixels
            }
            None => {
                encoder.set_color(png::ColorType::Rgb);
                &self.rgb
            }
        };
        encoder
            .write_header()
            .and_then(|mut writer| writer.write_image_data(data))
            .map_err(std::io::Error::other)?;
        Ok(out)
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
    base64::engine::general_purpose::STANDARD.encode(bytes)
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

    /// Decodes a PNG to its size and RGB pixels (through its palette, if indexed).
    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().unwrap();
        let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut rgb).unwrap();
        assert_eq!(frame.color_type, png::ColorType::Rgb);
        rgb.truncate(frame.buffer_size());
        (frame.width, frame.height, rgb)
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
