//! A realistic track event and an Avro schema for it, for tests and benches.

/// Schema for [`TRACK_EVENT`]: nested records, a nullable union, an enum, a
/// map, an array of records, `uuid`, `timestamp-millis` and `decimal`.
pub const TRACK_SCHEMA: &str = r#"{
  "type": "record", "name": "TrackEvent", "namespace": "com.example.events",
  "fields": [
    {"name": "type", "type": {"type": "enum", "name": "EventType",
      "symbols": ["track", "identify", "page", "screen", "group", "alias"]}},
    {"name": "event", "type": "string"},
    {"name": "messageId", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "anonymousId", "type": ["null", "string"], "default": null},
    {"name": "userId", "type": ["null", "string"], "default": null},
    {"name": "timestamp", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "sentAt", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}], "default": null},
    {"name": "context", "type": {"type": "record", "name": "Context", "fields": [
      {"name": "ip", "type": ["null", "string"], "default": null},
      {"name": "locale", "type": "string", "default": "en-US"},
      {"name": "userAgent", "type": ["null", "string"], "default": null},
      {"name": "library", "type": {"type": "record", "name": "Library", "fields": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"}
      ]}},
      {"name": "page", "type": ["null", {"type": "record", "name": "Page", "fields": [
        {"name": "path", "type": "string"},
        {"name": "url", "type": "string"},
        {"name": "title", "type": ["null", "string"], "default": null},
        {"name": "referrer", "type": ["null", "string"], "default": null}
      ]}], "default": null}
    ]}},
    {"name": "properties", "type": {"type": "record", "name": "Properties", "fields": [
      {"name": "order_id", "type": "string"},
      {"name": "revenue", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
      {"name": "currency", "type": "string", "default": "USD"},
      {"name": "coupon", "type": ["null", "string"], "default": null},
      {"name": "products", "type": {"type": "array", "items": {"type": "record", "name": "Product", "fields": [
        {"name": "product_id", "type": "string"},
        {"name": "sku", "type": "string"},
        {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
        {"name": "quantity", "type": "int"}
      ]}}, "default": []}
    ]}},
    {"name": "integrations", "type": {"type": "map", "values": "boolean"}, "default": {}}
  ]
}"#;

/// A Segment-style `Order Completed` track event (about 760 bytes as compact JSON).
pub const TRACK_EVENT: &str = r#"{
  "type": "track",
  "event": "Order Completed",
  "messageId": "4bb69e26-b5a6-446a-a140-dbb6263369c9",
  "anonymousId": "507f191e810c19729de860ea",
  "userId": "user-97980cfea0067",
  "timestamp": "2024-03-05T12:31:15.655Z",
  "sentAt": "2024-03-05T12:31:19.002+05:30",
  "context": {
    "ip": "203.0.113.7",
    "locale": "en-GB",
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/123.0",
    "library": {"name": "analytics.js", "version": "4.1.0"},
    "page": {"path": "/checkout", "url": "https://shop.example.com/checkout"}
  },
  "properties": {
    "order_id": "50314b8e9bcf000000000000",
    "revenue": 25.00,
    "currency": "EUR",
    "products": [
      {"product_id": "507f1f77bcf86cd799439011", "sku": "45790-32", "price": 19.99, "quantity": 1},
      {"product_id": "505bd76785ebb509fc183733", "sku": "46493-32", "price": 5.01, "quantity": 1}
    ]
  },
  "integrations": {"All": true, "Mixpanel": false}
}"#;
