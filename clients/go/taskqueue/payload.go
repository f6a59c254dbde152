package taskqueue

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// jsonValue encodes any JSON-marshalable Go value as a google.protobuf.Value.
// A json.RawMessage is used as is; nil (or an empty RawMessage) becomes JSON null.
func jsonValue(v any) (*structpb.Value, error) {
	var data []byte
	switch x := v.(type) {
	case nil:
		return structpb.NewNullValue(), nil
	case json.RawMessage:
		if len(x) == 0 {
			return structpb.NewNullValue(), nil
		}
		data = x
	case *structpb.Value:
		return x, nil
	default:
		encoded, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("not JSON-encodable: %w", err)
		}
		data = encoded
	}
	value := &structpb.Value{}
	if err := protojson.Unmarshal(data, value); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	return value, nil
}

// rawJSON encodes a google.protobuf.Value as compact JSON text (object keys sorted);
// nil gives nil.
func rawJSON(v *structpb.Value) json.RawMessage {
	if v == nil {
		return nil
	}
	data, err := json.Marshal(v.AsInterface())
	if err != nil {
		return nil
	}
	return data
}
