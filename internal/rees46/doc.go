// Package rees46 maps the REES46 e-commerce clickstream CSV files to
// gridsession client, session and event records.
//
// The files are the REES46 Open CDP datasets published on Kaggle by REES46
// (https://rees46.com): "eCommerce behavior data from multi category store"
// and "eCommerce Events History in Cosmetics Shop". Their publisher allows free
// use provided that the source is named.
//
// Each row is one shop event with the columns event_time, event_type,
// product_id, price, user_id and user_session, found by header name, plus
// category_id in the multi-category files. A row becomes one event keyed by
// its session. Before the first row of a client, Scan emits a client record,
// and before the first row of a session a session record and a
// CONTACT_IDENTIFY event, as a device client does when it starts. A row that
// cannot be mapped is counted by reason and skipped.
//
// Every record carries a captureId made of the file's SHA-256 and the row
// number, so loading the same file again produces byte-identical records that
// the processor drops as duplicates.
package rees46
