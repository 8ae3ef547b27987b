//! Reading goose files: sections, annotations, errors with lines.
