//! Layout: joining rendered entries on one line or several, and grouping array items in columns.

use super::*;

impl<'js> Inspector<'_, 'js> {
    pub(crate) fn reduce_to_single_string(
        &mut self,
        mut output: Vec<String>,
        base: &str,
        braces: &[String; 2],
        extras: Extras,
        recurse_times: usize,
        numeric: bool,
    ) -> String {
        let entries = output.len();
        if extras == Extras::Array && entries > 6 {
            output = self.group_array_elements(output, numeric);
        }
        if self.current_depth.saturating_sub(recurse_times) < 3 && entries == output.len() {
            let start = output.len() + self.indentation_lvl + utf16_len(&braces[0]) + utf16_len(base) + 10;
            if self.is_below_break_length(&output, start, base) {
                let joined = output.join(", ");
                if !joined.contains('\n') {
                    let b = if base.is_empty() { String::new() } else { format!("{base} ") };
                    return format!("{b}{} {joined} {}", braces[0], braces[1]);
                }
            }
        }
        let ind = format!("\n{}", " ".repeat(self.indentation_lvl));
        let b = if base.is_empty() { String::new() } else { format!("{base} ") };
        format!("{b}{}{ind}  {}{ind}{}", braces[0], output.join(&format!(",{ind}  ")), braces[1])
    }

    pub(crate) fn is_below_break_length(&self, output: &[String], start: usize, base: &str) -> bool {
        let mut total = output.len() + start;
        if total + output.len() > self.opts.break_length {
            return false;
        }
        for o in output {
            total += if self.opts.colors { visible_len(o) } else { utf16_len(o) };
            if total > self.opts.break_length {
                return false;
            }
        }
        base.is_empty() || !base.contains('\n')
    }

    /// Node's groupArrayElements.
    pub(crate) fn group_array_elements(&self, output: Vec<String>, numeric: bool) -> Vec<String> {
        let mut total_length = 0usize;
        let mut max_length = 0usize;
        let mut output_length = output.len();
        if self.opts.max_array_length < output.len() {
            // Keep the "... more items" entry out of the grouping.
            output_length -= 1;
        }
        let separator_space = 2;
        let mut data_len = Vec::with_capacity(output_length);
        for o in output.iter().take(output_length) {
            let len = string_width(o, self.opts.colors);
            data_len.push(len);
            total_length += len + separator_space;
            max_length = max_length.max(len);
        }
        let actual_max = max_length + separator_space;
        if actual_max * 3 + self.indentation_lvl < self.opts.break_length
            && (total_length as f64 / actual_max as f64 > 5.0 || max_length <= 6)
        {
            let approx_char_heights = 2.5;
            let average_bias = (actual_max as f64 - total_length as f64 / output.len() as f64).sqrt();
            let biased_max = (actual_max as f64 - 3.0 - average_bias).max(1.0);
            let columns = ((approx_char_heights * biased_max * output_length as f64).sqrt() / biased_max)
                .round()
                .min(((self.opts.break_length - self.indentation_lvl) / actual_max) as f64)
                .min(12.0)
                .min(15.0);
            let columns = if columns.is_nan() { 0 } else { columns as usize };
            if columns <= 1 {
                return output;
            }
            let mut max_line_length = Vec::with_capacity(columns);
            for i in 0..columns {
                let mut line_length = 0;
                let mut j = i;
                while j < output.len() {
                    if let Some(&d) = data_len.get(j) {
                        line_length = line_length.max(d);
                    }
                    j += columns;
                }
                max_line_length.push(line_length + separator_space);
            }
            let mut tmp = Vec::new();
            let mut i = 0;
            while i < output_length {
                let max = (i + columns).min(output_length);
                let mut s = String::new();
                let mut j = i;
                while j < max - 1 {
                    let cell = format!("{}, ", output[j]);
                    let padding = max_line_length[j - i] + utf16_len(&output[j]) - data_len[j];
                    s.push_str(&pad(&cell, padding, numeric));
                    j += 1;
                }
                if numeric {
                    let padding =
                        (max_line_length[j - i] + utf16_len(&output[j])).saturating_sub(data_len[j] + separator_space);
                    s.push_str(&pad(&output[j], padding, true));
                } else {
                    s.push_str(&output[j]);
                }
                tmp.push(s);
                i += columns;
            }
            if self.opts.max_array_length < output.len() {
                if let Some(last) = output.last() {
                    tmp.push(last.clone());
                }
            }
            return tmp;
        }
        output
    }
}
