//! Route templates: `/instances/{instance_id}` checked and turned into
//! route-recognizer's pattern, the shape that finds conflicting templates,
//! and the rank route-recognizer will give the route.

use crate::MapperError;

/// A template taken apart for the route table.
pub(super) struct ParsedTemplate {
    /// The template in route-recognizer's syntax (`/instances/:instance_id`).
    pub(super) recognizer_pattern: String,
    /// The template with parameter names erased (`/instances/{}`).
    pub(super) shape: String,
    pub(super) param_names: Vec<String>,
    /// Each `/` segment: `Some(literal)` or `None` for a parameter.
    pub(super) segments: Vec<Option<String>>,
    /// route-recognizer's rank of the route: (static parts, parameters).
    pub(super) rank: (usize, usize),
}

/// Parses and checks `template`: every segment a literal route-recognizer
/// reads as such, or a whole-segment `{name}` used once.
pub(super) fn parse_template(template: &str) -> Result<ParsedTemplate, MapperError> {
    let Some(rest) = template.strip_prefix('/') else {
        return Err(MapperError::NotAbsolute {
            template: template.to_owned(),
        });
    };
    let invalid = |segment: &str| MapperError::InvalidSegment {
        template: template.to_owned(),
        segment: segment.to_owned(),
    };
    let mut recognizer_pattern = String::with_capacity(template.len());
    let mut shape = String::with_capacity(template.len());
    let mut param_names: Vec<String> = Vec::new();
    let mut parsed_segments: Vec<Option<String>> = Vec::new();
    let mut statics = 0;
    // "/" alone is the root; otherwise every segment must be non-empty.
    let segments: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').collect()
    };
    for segment in segments {
        recognizer_pattern.push('/');
        shape.push('/');
        if let Some(inner) = segment.strip_prefix('{') {
            let name = inner.strip_suffix('}').ok_or_else(|| invalid(segment))?;
            let valid_name =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_name {
                return Err(invalid(segment));
            }
            if param_names.iter().any(|n| n == name) {
                return Err(MapperError::RepeatedParameter {
                    template: template.to_owned(),
                    name: name.to_owned(),
                });
            }
            recognizer_pattern.push(':');
            recognizer_pattern.push_str(name);
            shape.push_str("{}");
            param_names.push(name.to_owned());
            parsed_segments.push(None);
        } else {
            // route-recognizer reads ':' and '*' at a segment start (after '/'
            // or '.') as parameters; braces elsewhere mean a mistyped parameter.
            let misread = segment.is_empty()
                || segment.contains(['{', '}', '%', '?', '#'])
                || segment.chars().any(char::is_control)
                || segment
                    .split('.')
                    .any(|part| part.starts_with(':') || part.starts_with('*'));
            if misread {
                return Err(invalid(segment));
            }
            recognizer_pattern.push_str(segment);
            shape.push_str(segment);
            // route-recognizer splits literals at '.' too and ranks routes by
            // how many such parts they have.
            statics += segment.split('.').count();
            parsed_segments.push(Some(segment.to_owned()));
        }
    }
    if recognizer_pattern.is_empty() {
        recognizer_pattern.push('/');
        shape.push('/');
    }
    let rank = (statics, param_names.len());
    Ok(ParsedTemplate {
        recognizer_pattern,
        shape,
        param_names,
        segments: parsed_segments,
        rank,
    })
}
