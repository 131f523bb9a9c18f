package rees46

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
)

// errMalformedRow marks a data row that is not valid CSV, such as one with
// a bare quote in an unquoted field.
var errMalformedRow = errors.New("rees46: malformed csv row")

// rowReader reads the data rows of one CSV file after its header. It
// accepts LF and CRLF line ends and a last line without a line end, which
// is how the REES46 files end.
type rowReader struct {
	csv  *csv.Reader
	cols columns
	// num is the 1-based number of the last data row read. The header is
	// not counted.
	num int
}

// newRowReader reads the header row from r and finds the known columns.
func newRowReader(r io.Reader) (*rowReader, error) {
	c := csv.NewReader(r)
	c.FieldsPerRecord = -1
	c.ReuseRecord = true

	header, err := c.Read()
	if errors.Is(err, io.EOF) {
		return nil, ErrEmptyFile
	}
	if err != nil {
		return nil, fmt.Errorf("rees46: read header: %w", err)
	}
	cols, err := parseHeader(header)
	if err != nil {
		return nil, err
	}
	return &rowReader{csv: c, cols: cols}, nil
}

// next returns the fields of the next data row. The slice is reused by the
// following call. It returns errMalformedRow for a row that is not valid
// CSV, after which reading may go on, and io.EOF after the last row.
func (rr *rowReader) next() ([]string, error) {
	fields, err := rr.csv.Read()
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}

	var parseErr *csv.ParseError
	if errors.As(err, &parseErr) {
		rr.num++
		return nil, fmt.Errorf("%w: %w", errMalformedRow, err)
	}
	if err != nil {
		return nil, err
	}
	rr.num++
	return fields, nil
}

// CountRows returns the number of data rows in the files, which is the
// Rows that Scan reports for them, for example as a progress bar total.
func CountRows(paths []string) (int, error) {
	total := 0
	for _, path := range paths {
		n, err := countFileRows(path)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

func countFileRows(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("rees46: %w", err)
	}
	defer f.Close()

	rr, err := newRowReader(f)
	if err != nil {
		return 0, fmt.Errorf("%w in %s", err, path)
	}
	for {
		_, err := rr.next()
		if errors.Is(err, io.EOF) {
			return rr.num, nil
		}
		if err != nil && !errors.Is(err, errMalformedRow) {
			return rr.num, fmt.Errorf("rees46: read %s: %w", path, err)
		}
	}
}
