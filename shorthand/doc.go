// Package shorthand parses the aws CLI "shorthand" syntax used by EMR-style
// flags such as --instance-groups, --steps, --applications,
// --bootstrap-actions and --configurations:
//
//	InstanceGroupType=MASTER,InstanceCount=1,InstanceType=m5.xlarge
//	Type=SPARK,Name="My app",Args=[--deploy-mode,cluster,s3://b/app.py]
//	Classification=spark-defaults,Properties={spark.executor.memory=2g}
//
// Parse turns one argument into generic values (string, []any,
// map[string]any); Unmarshal additionally decodes them into a struct using
// its `json` tag names, converting strings to the fields' Go types.
//
// # Grammar
//
// The grammar follows aws-cli's awscli/shorthand.py (ShorthandParser):
//
//	parameter  = keyval *("," keyval)
//	keyval     = key "=" [value]
//	key        = 1*(ALPHA / DIGIT / "-" / "_" / "." / "#" / "/" / ":")
//	value      = explicit-list / hash / csv-value        ; top level
//	csv-value  = first-value *("," second-value)        ; implicit list
//	list       = "[" [item *("," item)] [","] "]"
//	hash       = "{" [key "=" item *("," key "=" item)] [","] "}"
//	item       = list / hash / first-value              ; no implicit lists
//
// Values are either quoted or bare:
//
//   - '...' and "..." may contain anything; inside them \' (resp. \") and
//     \\ are the only escapes, any other backslash is literal.
//   - A bare value may not start with whitespace, a quote, ',', '=', '['
//     or '{'. After its first character, a value in key=value position or in
//     a [...] list / {...} hash runs until a quote, ',', ']' or '}'; so '=',
//     '[', '{' and inner spaces are allowed (Args=[--conf,k=v] works).
//     Trailing whitespace is trimmed. "\," is a literal comma; any other
//     backslash is kept as is (C:\tmp stays C:\tmp).
//   - Implicit lists: Key=a,b,c yields [a b c]. Items after the first stop
//     at a quote, ',' or '='; an item followed by '=' is taken to be the
//     next key instead, so Args=a,b,Name=x yields Args=[a b] and Name=x.
//     Consequently Args=--conf,spark.x=y does NOT put "spark.x=y" into
//     Args (it becomes a key "spark.x"); use Args=[--conf,spark.x=y].
//   - "Key=" gives the empty string; "Args=[]" gives an empty list;
//     "Args=[a,]" gives [a] (a trailing comma inside [...] or {...} is
//     accepted, as in the aws CLI); a trailing comma at the top level is an
//     error.
//   - The same key twice at the top level is an error (usually a ','
//     written where a space should separate two list items).
//
// Deviations from the aws CLI, all in inputs it rejects or mangles:
// surrounding whitespace of the whole argument is ignored, duplicate keys
// inside {...} are an error instead of last-one-wins, "{k=}" yields an
// empty value for k, and empty keys ("=v") are rejected.
//
// # Decoding
//
// Unmarshal applies the same post-processing as the aws CLI's
// BackCompatVisitor: a scalar (or {...}) given where a list is expected
// becomes a one-element list, and strings are converted to integers,
// floats and booleans ("true"/"false", case-insensitive) as the target
// field requires. Keys are matched case-sensitively against the fields'
// json tag names; unknown keys are an error.
//
// # Errors
//
// All user-facing errors are *Error values. Key holds the dotted path of
// the offending element (e.g. "EbsConfiguration.EbsBlockDeviceConfigs[0]"),
// which callers can prefix with the flag name via Error.Path. Syntax errors
// carry the whole input in Value and a position in Pos, and Error() renders
// the input with a caret under the problem.
package shorthand
