//! Splits a YAML stream into its documents, remembering where each starts, so that one broken
//! document does not hide the others and every error can name its document and line.

/// One document of a YAML stream, as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentText<'a> {
    /// Zero-based position of the document among the stream's non-empty documents.
    pub index: usize,
    /// One-based line of the stream at which the document's text begins.
    pub first_line: usize,
    /// The document's text, without its `---` marker line.
    pub text: &'a str,
}

/// Splits `stream` at document markers (`---` at the start of a line, optionally followed by
/// a space or a comment, and `...` end markers). YAML ends any block scalar at such a line, so
/// splitting here agrees with the YAML grammar. Documents that hold nothing but blank lines and
/// comments are dropped, as Kubernetes drops them, and are not counted.
pub fn split_documents(stream: &str) -> Vec<DocumentText<'_>> {
    let mut documents = Vec::new();
    let mut start_offset = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (line_number, line) in stream.split_inclusive('\n').enumerate() {
        let line_number = line_number + 1;
        let trimmed = line.trim_end_matches(['\n', '\r']);
        let is_start_marker = is_marker(trimmed, "---");
        let is_end_marker = is_marker(trimmed, "...");
        if is_start_marker || is_end_marker {
            push_document(&mut documents, &stream[start_offset..offset], start_line);
            start_offset = offset + line.len();
            start_line = line_number + 1;
            if is_start_marker && trimmed.len() > 3 {
                // `--- {a: 1}`: the document's content starts on the marker line itself.
                start_offset = offset + 3;
                start_line = line_number;
            }
        }
        offset += line.len();
    }
    push_document(&mut documents, &stream[start_offset..], start_line);
    documents
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

fn push_document<'a>(documents: &mut Vec<DocumentText<'a>>, text: &'a str, first_line: usize) {
    let has_content = text.lines().any(|line| {
        let line = line.trim_start();
        !line.is_empty() && !line.starts_with('#') && !line.starts_with('%')
    });
    if has_content {
        documents.push(DocumentText { index: documents.len(), first_line, text });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_document_without_markers_is_one_document() {
        let documents = split_documents("a: 1\nb: 2\n");
        assert_eq!(documents, vec![DocumentText { index: 0, first_line: 1, text: "a: 1\nb: 2\n" }]);
    }

    #[test]
    fn markers_split_documents_and_lines_are_counted_from_the_stream() {
        let documents = split_documents("---\na: 1\n---\n# only a comment\n---\nb: 2\n");
        assert_eq!(documents.len(), 2);
        assert_eq!((documents[0].index, documents[0].first_line, documents[0].text), (0, 2, "a: 1\n"));
        assert_eq!((documents[1].index, documents[1].first_line, documents[1].text), (1, 6, "b: 2\n"));
    }

    #[test]
    fn a_leading_document_before_the_first_marker_counts_but_a_comment_header_does_not() {
        let documents = split_documents("a: 1\n---\nb: 2\n");
        assert_eq!(documents.iter().map(|document| document.index).collect::<Vec<_>>(), vec![0, 1]);
        let documents = split_documents("# Copyright\n---\na: 1\n---\nb: 2\n");
        assert_eq!(documents.iter().map(|document| document.index).collect::<Vec<_>>(), vec![0, 1]);
    }

    #[test]
    fn dashes_inside_a_line_do_not_split() {
        let documents = split_documents("a: \"---\"\nb: ---x\n----\n");
        assert_eq!(documents.len(), 1);
    }

    #[test]
    fn content_on_the_marker_line_stays_with_its_document() {
        let documents = split_documents("--- {a: 1}\n");
        assert_eq!(documents[0].text.trim(), "{a: 1}");
        assert_eq!(documents[0].first_line, 1);
    }
}
