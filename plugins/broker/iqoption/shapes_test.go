package iqoption

// realShapes are the recorded server → client messages listed in
// docs/brokers/IQOPTION.md §14 (which trims them; here they are complete),
// plus the vendor mock's nameless result frame (§4.3) and two entries of
// our own ("option thai", "position extra fields"), marked as such there.
// They seed the fuzz target and the decoder tests.
var realShapes = map[string]string{
	"authenticated":         `{"name":"authenticated","msg":true,"client_session_id":"6c3ed4a9-3f7e-4c6c-a2b6-6a4c8f9b7e10","request_id":"1"}`,
	"authenticated false":   `{"name":"authenticated","msg":false}`,
	"front":                 `{"name":"front","msg":"ws20a.ws.prod.wz-ams.quadcode.cloud","session_id":"1411000"}`,
	"timeSync":              `{"name":"timeSync","msg":1534749220468}`,
	"heartbeat":             `{"name":"heartbeat","msg":1534749247713}`,
	"result":                `{"name":"result","request_id":"buy","msg":{"success":true}}`,
	"result mock":           `{"msg":{"success":true},"request_id":"7"}`,
	"balance-changed":       `{"name":"balance-changed","microserviceName":"internal-billing","msg":{"id":356288299,"user_id":72572501,"current_balance":{"id":356288299,"type":4,"index":28194576588,"amount":5080.88,"is_fiat":true,"currency":"USD","new_amount":5080.88,"is_marginal":false,"bonus_amount":0,"enrolled_amount":5080.886433,"bonus_total_amount":0}}}`,
	"candles":               `{"name":"candles","request_id":"","msg":{"candles":[{"id":17990319,"from":1534539500,"to":1534539501,"open":1.14387,"close":1.14387,"min":1.14387,"max":1.14387,"volume":0},{"id":17990320,"from":1534539501,"to":1534539502,"open":1.143875,"close":1.143875,"min":1.143875,"max":1.143875,"volume":0}]}}`,
	"candle-generated":      `{"name":"candle-generated","microserviceName":"quotes","msg":{"active_id":1,"size":5,"at":1534758724313867200,"from":1534758720,"to":1534758725,"id":3607348,"open":1.141055,"close":1.14107,"min":1.141035,"max":1.14107,"ask":1.14115,"bid":1.14099,"volume":0,"phase":"C"}}`,
	"option invalid":        `{"request_id":"buy","name":"option","msg":{"message":"invalid request","result":{}},"status":4000}`,
	"option suspended":      `{"request_id":"buy","name":"option","msg":{"message":"Cannot purchase an option (active is suspended)","result":{}},"status":4119}`,
	"socket-option-closed":  `{"name":"socket-option-closed","microserviceName":"binary-options","msg":{"amount":1000000,"id":7820492699,"refund":0,"currency":"USD","currency_char":"$","active_id":99,"active":"AUDUSD","value":0.77441,"exp_value":774190,"dir":"call","created":1610015999,"expired":1610016180,"type_name":"turbo","type":"front.TU","profit":0,"profit_amount":0,"win_amount":1.9,"loose_amount":0,"sum":1,"win":"loose","now":1610016180,"user_id":41112652,"game_state":1,"profit_income":190,"profit_return":0,"option_type_id":3,"site_id":1,"is_demo":true,"user_balance_id":194076111,"client_platform_id":82,"re_track":null,"rate_finished":true,"params":null}}`,
	"digital schema":        `{"request_id":"","name":"digital-option-placed","msg":{"part":"DATA","level":"INVALID_SCHEMA","type":"DigitalOptions::PlaceDigitalOptionRequest","message":"strconv.ParseFloat: parsing \"\": invalid syntax","schema":"IqDL 0.6 ...","schema_version":"0996db41"},"status":4000}`,
	"option-rejected":       `{"name":"option-rejected","microserviceName":"binary-options","msg":{"index":59276063,"option_id":5496003903,"reason":"rejected_by_risks","amount":1000000,"currency":"USD","enrolled_amount":1000000,"balance_type_id":4,"balance_id":48420788,"option_type":"turbo","option_type_id":3,"user_id":27196984,"open_time":1564357341,"expiration_time":1564357380,"profit_percent":0,"direction":"call","value":0.899315,"active_id":2,"platform_id":0,"tournament_id":null}}`,
	"position-changed":      `{"name":"position-changed","microserviceName":"portfolio","msg":{"id":"a7c1f0e2","external_id":14147912586,"active_id":86,"instrument_type":"turbo-option","status":"closed","open_time":1786214520323,"open_quote":0.984195,"invest":2000,"close_quote":0.984285,"close_reason":"win","close_time":1786214580000,"close_profit":3740,"pnl":1740,"pnl_realized":1740,"pnl_net":1740}}`,
	"option thai":           `{"request_id":"9","name":"option","msg":{"message":"ไม่สามารถซื้อออปชั่นได้ (สินทรัพย์ถูกระงับ)","result":{}},"status":4119}`,
	"profile legacy false":  `{"name":"profile","msg":false}`,
	"position extra fields": `{"name":"position-changed","microserviceName":"portfolio","request_id":null,"new_top_level":{"x":[1,2]},"msg":{"id":12345,"external_id":"14147912587","version":"3","status":"closed","close_reason":"loose","invest":"10.5","close_profit":0,"unknown":{"deep":[true,null]},"raw_event":{"binary_options_option_changed1":{"option_id":14147912587,"order_ids":[1,2]}}}}`,
}
