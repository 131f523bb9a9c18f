package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// knownMembers lists every member name of the three records, in the case
// they are written.
var knownMembers = func() map[string]string {
	names := []string{
		"tenantId", "clientId", "clientCreated", "clientUserAgent", "dataResidency", "country",
		"locationAccuracy", "latitude", "longitude", "clientScreenWidth", "clientScreenHeight",
		"clientScreenColorDepth", "clientScreenPixelDepth", "captureId", "sessionId",
		"sessionCreated", "environment", "spaceId", "appId", "appVersion", "installationId",
		"installationVersion", "deviceId", "eventTime", "eventType", "interaction", "ip",
		"productId", "categoryId", "int1", "int2", "int3", "int4", "int5", "str1", "str2",
		"str3", "str4", "str5", "stateful", "public",
	}
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = n
	}
	return m
}()

// checkMemberNames rejects a record that names a member twice, or names a
// known member in another case, such as "TenantID". encoding/json accepts
// both, the last one or the case-insensitive match winning, so a proxy that
// reads tenantId with a stricter parser could see another tenant than
// gridsession. data must be a valid JSON object.
func checkMemberNames(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // the opening brace
		return nil
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		name, _ := tok.(string)
		if seen[name] {
			return &FieldError{Reason: ReasonInvalidJSON, Field: name, Detail: "member appears twice"}
		}
		seen[name] = true
		if want, ok := knownMembers[strings.ToLower(name)]; ok && want != name {
			return &FieldError{Reason: ReasonInvalidField, Field: name, Detail: fmt.Sprintf("member name must be written %q", want)}
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}
