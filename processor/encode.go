package processor

import (
	"bytes"
	"encoding/json"
)

// encodeJSON encodes v without escaping '<', '>' and '&' as \u003c and so
// on: encoding/json's default escaping makes an id of such characters six
// times longer, enough to push a large cart past the NATS payload limit.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
