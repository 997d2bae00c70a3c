//! Choosing a QR code's mask. A code must be masked with one of eight
//! patterns, and the standard (ISO/IEC 18004, 7.8.3) picks the one whose
//! result has the fewest features that confuse a reader: long runs, 2×2
//! blocks, finder-like stripes, and a skewed dark share. The `qrcode` crate
//! does the same but spends most of a code's rendering time scoring; this
//! scores a plain row-major matrix in a few passes.

use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::Color;

const PATTERNS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// The drawn (unmasked) canvas under its best mask, as dark modules row by row.
pub fn best(canvas: &Canvas, width: usize) -> Vec<bool> {
    PATTERNS
        .iter()
        .map(|pattern| {
            let mut masked = canvas.clone();
            masked.apply_mask(*pattern);
            let dark: Vec<bool> = masked
                .into_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect();
            (penalty(&dark, width), dark)
        })
        .min_by_key(|(score, _)| *score)
        .map(|(_, dark)| dark)
        .unwrap_or_default()
}

/// The standard's penalty score of a masked matrix (lower is better).
pub fn penalty(dark: &[bool], width: usize) -> u32 {
    let at = |x: usize, y: usize| dark[y * width + x];
    let mut score = 0;
    let mut line = vec![false; width];
    for horizontal in [true, false] {
        for i in 0..width {
            for (j, module) in line.iter_mut().enumerate() {
                *module = if horizontal { at(j, i) } else { at(i, j) };
            }
            score += runs(&line) + finder_like(&line);
        }
    }
    // Rule 2: each 2×2 block of one colour.
    for y in 0..width - 1 {
        for x in 0..width - 1 {
            let c = at(x, y);
            if at(x + 1, y) == c && at(x, y + 1) == c && at(x + 1, y + 1) == c {
                score += 3;
            }
        }
    }
    // Rule 4: 10 points per 5 % the dark share strays from half.
    let total = dark.len() as u32;
    let darks = dark.iter().filter(|d| **d).count() as u32;
    score + 10 * ((darks * 100).abs_diff(50 * total) / (5 * total))
}

/// Rule 1: a run of five or more modules of one colour scores 3, plus 1 for
/// each module beyond five.
fn runs(line: &[bool]) -> u32 {
    let mut score = 0;
    let mut run = 1;
    for pair in line.windows(2) {
        if pair[0] == pair[1] {
            run += 1;
        } else {
            score += run_score(run);
            run = 1;
        }
    }
    score + run_score(run)
}

fn run_score(run: u32) -> u32 {
    if run >= 5 {
        run - 2
    } else {
        0
    }
}

/// Rule 3: dark-light-dark-dark-dark-light-dark with four light modules on
/// either side (beyond the edge counts as light) scores 40.
fn finder_like(line: &[bool]) -> u32 {
    const CORE: [bool; 7] = [true, false, true, true, true, false, true];
    let light = |i: isize| i < 0 || i as usize >= line.len() || !line[i as usize];
    let mut score = 0;
    for start in 0..line.len().saturating_sub(6) {
        if line[start..start + 7] != CORE {
            continue;
        }
        let s = start as isize;
        let before = (s - 4..s).all(light);
        let after = (s + 7..s + 11).all(light);
        if before || after {
            score += 40;
        }
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_the_standard_rules() {
        // A run of seven: 3 + 2.
        assert_eq!(runs(&[true; 7]), 5);
        assert_eq!(runs(&[true, true, false, true]), 0);
        // A finder-like stripe with light space after it.
        let mut line = vec![true, false, true, true, true, false, true];
        line.extend([false; 4]);
        assert_eq!(finder_like(&line), 40);
        assert_eq!(
            finder_like(&[true, false, true, true, false, true, true]),
            0
        );
        // An all-dark 3×3: six runs of three (none), four 2×2 blocks, and
        // the dark share 100 % (10 steps of 5 %).
        assert_eq!(penalty(&[true; 9], 3), 4 * 3 + 100);
    }
}
