//! Handlebars behaviour suite: each case is a template, data, partials and helpers with
//! the exact output of handlebars.js 4.7 (the expected strings were produced by running the
//! same cases through handlebars.js on node 20, once; the test itself does not need node).

use sandvm_template::Templates;
use serde_json::Value;

struct Case {
    name: &'static str,
    template: &'static str,
    data: &'static str,
    partials: &'static [(&'static str, &'static str)],
    helpers: &'static [(&'static str, &'static str)],
    expected: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: r#"simple"#,
        template: r#"Hello {{name}}!"#,
        data: r#"{"name": "World"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"Hello World!"#,
    },
    Case {
        name: r#"missing value"#,
        template: r#"a{{nope}}b"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[],
        expected: r#"ab"#,
    },
    Case {
        name: r#"escape all chars"#,
        template: r#"{{s}}"#,
        data: r#"{"s": "& < > \" ' ` ="}"#,
        partials: &[],
        helpers: &[],
        expected: r#"&amp; &lt; &gt; &quot; &#x27; &#x60; &#x3D;"#,
    },
    Case {
        name: r#"triple stash raw"#,
        template: r#"{{{s}}}"#,
        data: r#"{"s": "<b>&amp;</b>"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"<b>&amp;</b>"#,
    },
    Case {
        name: r#"ampersand raw"#,
        template: r#"{{& s}}"#,
        data: r#"{"s": "<i>x</i>"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"<i>x</i>"#,
    },
    Case {
        name: r#"number"#,
        template: r#"{{n}} {{f}} {{neg}}"#,
        data: r#"{"n": 42, "f": 1.5, "neg": -3}"#,
        partials: &[],
        helpers: &[],
        expected: r#"42 1.5 -3"#,
    },
    Case {
        name: r#"zero renders"#,
        template: r#"[{{z}}]"#,
        data: r#"{"z": 0}"#,
        partials: &[],
        helpers: &[],
        expected: r#"[0]"#,
    },
    Case {
        name: r#"false renders"#,
        template: r#"[{{b}}]"#,
        data: r#"{"b": false}"#,
        partials: &[],
        helpers: &[],
        expected: r#"[false]"#,
    },
    Case {
        name: r#"null renders empty"#,
        template: r#"[{{x}}]"#,
        data: r#"{"x": null}"#,
        partials: &[],
        helpers: &[],
        expected: r#"[]"#,
    },
    Case {
        name: r#"array to string"#,
        template: r#"{{a}}"#,
        data: r#"{"a": [1, 2, 3]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"1,2,3"#,
    },
    Case {
        name: r#"object to string"#,
        template: r#"{{o}}"#,
        data: r#"{"o": {"a": 1}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"[object Object]"#,
    },
    Case {
        name: r#"nested path dot"#,
        template: r#"{{a.b.c}}"#,
        data: r#"{"a": {"b": {"c": "deep"}}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"deep"#,
    },
    Case {
        name: r#"nested path slash"#,
        template: r#"{{a/b/c}}"#,
        data: r#"{"a": {"b": {"c": "slash"}}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"slash"#,
    },
    Case {
        name: r#"missing intermediate"#,
        template: r#"[{{a.b.c}}]"#,
        data: r#"{"a": {}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"[]"#,
    },
    Case {
        name: r#"null intermediate"#,
        template: r#"[{{a.b}}]"#,
        data: r#"{"a": null}"#,
        partials: &[],
        helpers: &[],
        expected: r#"[]"#,
    },
    Case {
        name: r#"this"#,
        template: r#"{{#each list}}{{this}},{{/each}}"#,
        data: r#"{"list": ["a", "b"]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"a,b,"#,
    },
    Case {
        name: r#"this dot"#,
        template: r#"{{#each list}}{{.}};{{/each}}"#,
        data: r#"{"list": [1, 2]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"1;2;"#,
    },
    Case {
        name: r#"this.prop"#,
        template: r#"{{#with p}}{{this.name}}{{/with}}"#,
        data: r#"{"p": {"name": "n"}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"n"#,
    },
    Case {
        name: r#"literal segment"#,
        template: r#"{{[weird key]}} {{a.[b c]}}"#,
        data: r#"{"weird key": "W", "a": {"b c": "BC"}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"W BC"#,
    },
    Case {
        name: r#"literal segment number"#,
        template: r#"{{list.[1]}}"#,
        data: r#"{"list": ["x", "y"]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"y"#,
    },
    Case {
        name: r#"array length"#,
        template: r#"{{list.length}}"#,
        data: r#"{"list": [1, 2, 3]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"3"#,
    },
    Case {
        name: r#"string length"#,
        template: r#"{{s.length}}"#,
        data: r#"{"s": "abcd"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"4"#,
    },
    Case {
        name: r#"no prototype access"#,
        template: r#"[{{constructor}}][{{o.__proto__}}][{{o.toString}}]"#,
        data: r#"{"o": {}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"[][][]"#,
    },
    Case {
        name: r#"unicode"#,
        template: r#"{{s}} ☃"#,
        data: r#"{"s": "héllo ✓"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"héllo ✓ ☃"#,
    },
    Case {
        name: r#"escaped mustache"#,
        template: r#"\{{name}} {{name}}"#,
        data: r#"{"name": "x"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"{{name}} x"#,
    },
    Case {
        name: r#"double backslash"#,
        template: r#"\\{{name}}"#,
        data: r#"{"name": "x"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"\x"#,
    },
    Case {
        name: r#"escaped mustache run"#,
        template: r#"\{{a}}{{b}}\{{c}}"#,
        data: r#"{"b": "B"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"{{a}}B{{c}}"#,
    },
    Case {
        name: r#"string literal param"#,
        template: r#"{{echo "hi there"}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"echo"#, r#"function(s){return s}"#)],
        expected: r#"hi there"#,
    },
    Case {
        name: r#"single quote literal"#,
        template: r#"{{echo 'sq'}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"echo"#, r#"function(s){return s}"#)],
        expected: r#"sq"#,
    },
    Case {
        name: r#"number literal param"#,
        template: r#"{{typeof 12}} {{typeof -1.5}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"typeof"#, r#"function(v){return typeof v + ':' + v}"#)],
        expected: r#"number:12 number:-1.5"#,
    },
    Case {
        name: r#"boolean null undefined literals"#,
        template: r#"{{t true}} {{t false}} {{t null}} {{t undefined}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"t"#, r#"function(v){return String(v)}"#)],
        expected: r#"true false null undefined"#,
    },
    Case {
        name: r#"literal as path"#,
        template: r#"{{"foo bar"}}"#,
        data: r#"{"foo bar": "FB"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"FB"#,
    },
    Case {
        name: r#"short comment"#,
        template: r#"a{{! comment }}b"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[],
        expected: r#"ab"#,
    },
    Case {
        name: r#"long comment with mustaches"#,
        template: r#"a{{!-- {{x}} }} --}}b"#,
        data: r#"{"x": 1}"#,
        partials: &[],
        helpers: &[],
        expected: r#"ab"#,
    },
    Case {
        name: r#"standalone comment line"#,
        template: r#"a
  {{! c }}
b"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[],
        expected: r#"a
b"#,
    },
    Case {
        name: r#"comment tilde"#,
        template: r#"a  {{~! c ~}}  b"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[],
        expected: r#"ab"#,
    },
    Case {
        name: r#"if true"#,
        template: r#"{{#if ok}}yes{{/if}}"#,
        data: r#"{"ok": true}"#,
        partials: &[],
        helpers: &[],
        expected: r#"yes"#,
    },
    Case {
        name: r#"if false"#,
        template: r#"{{#if ok}}yes{{/if}}"#,
        data: r#"{"ok": false}"#,
        partials: &[],
        helpers: &[],
        expected: r#""#,
    },
    Case {
        name: r#"if else"#,
        template: r#"{{#if ok}}yes{{else}}no{{/if}}"#,
        data: r#"{"ok": 0}"#,
        partials: &[],
        helpers: &[],
        expected: r#"no"#,
    },
    Case {
        name: r#"if empty array"#,
        template: r#"{{#if list}}yes{{else}}empty{{/if}}"#,
        data: r#"{"list": []}"#,
        partials: &[],
        helpers: &[],
        expected: r#"empty"#,
    },
    Case {
        name: r#"if empty string"#,
        template: r#"{{#if s}}yes{{else}}no{{/if}}"#,
        data: r#"{"s": ""}"#,
        partials: &[],
        helpers: &[],
        expected: r#"no"#,
    },
    Case {
        name: r#"if object"#,
        template: r#"{{#if o}}yes{{/if}}"#,
        data: r#"{"o": {}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"yes"#,
    },
    Case {
        name: r#"if includeZero"#,
        template: r#"{{#if z includeZero=true}}zero ok{{/if}}"#,
        data: r#"{"z": 0}"#,
        partials: &[],
        helpers: &[],
        expected: r#"zero ok"#,
    },
    Case {
        name: r#"unless"#,
        template: r#"{{#unless ok}}not ok{{/unless}}"#,
        data: r#"{"ok": false}"#,
        partials: &[],
        helpers: &[],
        expected: r#"not ok"#,
    },
    Case {
        name: r#"unless else"#,
        template: r#"{{#unless ok}}a{{else}}b{{/unless}}"#,
        data: r#"{"ok": true}"#,
        partials: &[],
        helpers: &[],
        expected: r#"b"#,
    },
    Case {
        name: r#"else if chain"#,
        template: r#"{{#if a}}A{{else if b}}B{{else if c}}C{{else}}D{{/if}}"#,
        data: r#"{"c": 1}"#,
        partials: &[],
        helpers: &[],
        expected: r#"C"#,
    },
    Case {
        name: r#"else if chain last"#,
        template: r#"{{#if a}}A{{else if b}}B{{else}}D{{/if}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[],
        expected: r#"D"#,
    },
    Case {
        name: r#"else unless chain"#,
        template: r#"{{#if a}}A{{else unless b}}notB{{/if}}"#,
        data: r#"{"b": false}"#,
        partials: &[],
        helpers: &[],
        expected: r#"notB"#,
    },
    Case {
        name: r#"caret else"#,
        template: r#"{{#if a}}A{{^}}notA{{/if}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[],
        expected: r#"notA"#,
    },
    Case {
        name: r#"inverted section"#,
        template: r#"{{^list}}none{{/list}}"#,
        data: r#"{"list": []}"#,
        partials: &[],
        helpers: &[],
        expected: r#"none"#,
    },
    Case {
        name: r#"inverted section truthy"#,
        template: r#"[{{^x}}none{{/x}}]"#,
        data: r#"{"x": "yes"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"[]"#,
    },
    Case {
        name: r#"if in each"#,
        template: r#"{{#each xs}}{{#if this}}{{this}}{{else}}-{{/if}}{{/each}}"#,
        data: r#"{"xs": [1, 0, 2, null]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"1-2-"#,
    },
    Case {
        name: r#"each array"#,
        template: r#"{{#each xs}}<{{this}}>{{/each}}"#,
        data: r#"{"xs": ["a", "b", "c"]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"<a><b><c>"#,
    },
    Case {
        name: r#"each objects"#,
        template: r#"{{#each people}}{{name}} is {{age}}. {{/each}}"#,
        data: r#"{"people": [{"name": "A", "age": 1}, {"name": "B", "age": 2}]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"A is 1. B is 2. "#,
    },
    Case {
        name: r#"each index first last"#,
        template: r#"{{#each xs}}{{@index}}:{{this}}{{#if @first}}(first){{/if}}{{#if @last}}(last){{/if}} {{/each}}"#,
        data: r#"{"xs": ["a", "b", "c"]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"0:a(first) 1:b 2:c(last) "#,
    },
    Case {
        name: r#"each object key"#,
        template: r#"{{#each o}}{{@key}}={{this}};{{/each}}"#,
        data: r#"{"o": {"x": 1, "y": 2}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"x=1;y=2;"#,
    },
    Case {
        name: r#"each object index last"#,
        template: r#"{{#each o}}{{@index}}{{@key}}{{#if @last}}!{{/if}}{{/each}}"#,
        data: r#"{"o": {"a": 1, "b": 2, "c": 3}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"0a1b2c!"#,
    },
    Case {
        name: r#"each else"#,
        template: r#"{{#each xs}}{{this}}{{else}}empty{{/each}}"#,
        data: r#"{"xs": []}"#,
        partials: &[],
        helpers: &[],
        expected: r#"empty"#,
    },
    Case {
        name: r#"each else missing"#,
        template: r#"{{#each nope}}x{{else}}missing{{/each}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[],
        expected: r#"missing"#,
    },
    Case {
        name: r#"each block params"#,
        template: r#"{{#each xs as |item i|}}{{i}}={{item}} {{/each}}"#,
        data: r#"{"xs": ["p", "q"]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"0=p 1=q "#,
    },
    Case {
        name: r#"each object block params"#,
        template: r#"{{#each o as |v k|}}{{k}}:{{v}} {{/each}}"#,
        data: r#"{"o": {"a": 1, "b": 2}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"a:1 b:2 "#,
    },
    Case {
        name: r#"nested each parent"#,
        template: r#"{{#each groups}}{{name}}[{{#each items}}{{../name}}-{{this}} {{/each}}]{{/each}}"#,
        data: r#"{"groups": [{"name": "g1", "items": [1, 2]}, {"name": "g2", "items": [3]}]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"g1[g1-1 g1-2 ]g2[g2-3 ]"#,
    },
    Case {
        name: r#"nested each @../index"#,
        template: r#"{{#each a}}{{#each this}}{{@../index}}.{{@index}} {{/each}}{{/each}}"#,
        data: r#"{"a": [[1, 2], [3]]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"0.0 0.1 1.0 "#,
    },
    Case {
        name: r#"nested block params"#,
        template: r#"{{#each outer as |o|}}{{#each o.inner as |i|}}{{o.n}}{{i}} {{/each}}{{/each}}"#,
        data: r#"{"outer": [{"n": "x", "inner": [1, 2]}]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"x1 x2 "#,
    },
    Case {
        name: r#"each @root"#,
        template: r#"{{#each xs}}{{@root.title}}{{this}} {{/each}}"#,
        data: r#"{"title": "T", "xs": [1, 2]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"T1 T2 "#,
    },
    Case {
        name: r#"each this in nested object"#,
        template: r#"{{#each xs}}{{#with this}}{{v}}{{/with}}{{/each}}"#,
        data: r#"{"xs": [{"v": 1}, {"v": 2}]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"12"#,
    },
    Case {
        name: r#"each sparse keys order"#,
        template: r#"{{#each o}}{{@key}}{{/each}}"#,
        data: r#"{"o": {"b": 1, "a": 2, "c": 3}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"bac"#,
    },
    Case {
        name: r#"each with ../ to root"#,
        template: r#"{{#each xs}}{{../title}}{{/each}}"#,
        data: r#"{"title": "t", "xs": [1, 2]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"tt"#,
    },
    Case {
        name: r#"with"#,
        template: r#"{{#with person}}{{first}} {{last}}{{/with}}"#,
        data: r#"{"person": {"first": "Ada", "last": "L"}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"Ada L"#,
    },
    Case {
        name: r#"with else"#,
        template: r#"{{#with missing}}x{{else}}none{{/with}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[],
        expected: r#"none"#,
    },
    Case {
        name: r#"with block param"#,
        template: r#"{{#with person as |p|}}{{p.first}}{{/with}}"#,
        data: r#"{"person": {"first": "Bo"}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"Bo"#,
    },
    Case {
        name: r#"with ../"#,
        template: r#"{{#with a}}{{../top}}{{b}}{{/with}}"#,
        data: r#"{"top": "T", "a": {"b": "B"}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"TB"#,
    },
    Case {
        name: r#"with nested ../../"#,
        template: r#"{{#with a}}{{#with b}}{{../../top}}{{../x}}{{c}}{{/with}}{{/with}}"#,
        data: r#"{"top": 1, "a": {"x": 2, "b": {"c": 3}}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"123"#,
    },
    Case {
        name: r#"if does not change ../"#,
        template: r#"{{#with a}}{{#if b}}{{../top}}{{/if}}{{/with}}"#,
        data: r#"{"top": "T", "a": {"b": true}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"T"#,
    },
    Case {
        name: r#"lookup"#,
        template: r#"{{lookup map key}}"#,
        data: r#"{"map": {"k": "v"}, "key": "k"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"v"#,
    },
    Case {
        name: r#"lookup index"#,
        template: r#"{{#each xs}}{{lookup ../names @index}} {{/each}}"#,
        data: r#"{"xs": [0, 0], "names": ["n0", "n1"]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"n0 n1 "#,
    },
    Case {
        name: r#"lookup subexpr"#,
        template: r#"{{#with (lookup map key)}}{{name}}{{/with}}"#,
        data: r#"{"map": {"k": {"name": "N"}}, "key": "k"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"N"#,
    },
    Case {
        name: r#"log outputs nothing"#,
        template: r#"a{{log "hello"}}b"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[],
        expected: r#"ab"#,
    },
    Case {
        name: r#"helper with params"#,
        template: r#"{{add 1 2}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"add"#, r#"function(a,b){return a+b}"#)],
        expected: r#"3"#,
    },
    Case {
        name: r#"helper with paths"#,
        template: r#"{{full first last}}"#,
        data: r#"{"first": "A", "last": "B"}"#,
        partials: &[],
        helpers: &[(r#"full"#, r#"function(a,b){return a+' '+b}"#)],
        expected: r#"A B"#,
    },
    Case {
        name: r#"helper hash"#,
        template: r#"{{link text href=url title="t"}}"#,
        data: r#"{"text": "go", "url": "/x"}"#,
        partials: &[],
        helpers: &[(r#"link"#, r#"function(t, o){return o.hash.href+'|'+t+'|'+o.hash.title}"#)],
        expected: r#"/x|go|t"#,
    },
    Case {
        name: r#"helper escapes result"#,
        template: r#"{{bold name}}"#,
        data: r#"{"name": "x"}"#,
        partials: &[],
        helpers: &[(r#"bold"#, r#"function(s){return '<b>'+s+'</b>'}"#)],
        expected: r#"&lt;b&gt;x&lt;/b&gt;"#,
    },
    Case {
        name: r#"helper SafeString"#,
        template: r#"{{bold name}}"#,
        data: r#"{"name": "<x>"}"#,
        partials: &[],
        helpers: &[(
            r#"bold"#,
            r#"function(s){return new Handlebars.SafeString('<b>'+Handlebars.escapeExpression(s)+'</b>')}"#,
        )],
        expected: r#"<b>&lt;x&gt;</b>"#,
    },
    Case {
        name: r#"helper triple stash"#,
        template: r#"{{{bold name}}}"#,
        data: r#"{"name": "x"}"#,
        partials: &[],
        helpers: &[(r#"bold"#, r#"function(s){return '<b>'+s+'</b>'}"#)],
        expected: r#"<b>x</b>"#,
    },
    Case {
        name: r#"helper this context"#,
        template: r#"{{#each xs}}{{me}}{{/each}}"#,
        data: r#"{"xs": [{"n": 1}, {"n": 2}]}"#,
        partials: &[],
        helpers: &[(r#"me"#, r#"function(){return this.n}"#)],
        expected: r#"12"#,
    },
    Case {
        name: r#"helper no args"#,
        template: r#"{{now}}"#,
        data: r#"{"now": "data"}"#,
        partials: &[],
        helpers: &[(r#"now"#, r#"function(){return 'helper wins'}"#)],
        expected: r#"helper wins"#,
    },
    Case {
        name: r#"helper options.name"#,
        template: r#"{{who}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"who"#, r#"function(o){return o.name}"#)],
        expected: r#"who"#,
    },
    Case {
        name: r#"helper options.data root"#,
        template: r#"{{rt}}"#,
        data: r#"{"x": 5}"#,
        partials: &[],
        helpers: &[(r#"rt"#, r#"function(o){return o.data.root.x}"#)],
        expected: r#"5"#,
    },
    Case {
        name: r#"block helper fn"#,
        template: r#"{{#twice}}x{{/twice}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"twice"#, r#"function(o){return o.fn(this)+o.fn(this)}"#)],
        expected: r#"xx"#,
    },
    Case {
        name: r#"block helper inverse"#,
        template: r#"{{#maybe false}}yes{{else}}no{{/maybe}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"maybe"#, r#"function(c,o){return c?o.fn(this):o.inverse(this)}"#)],
        expected: r#"no"#,
    },
    Case {
        name: r#"block helper new context"#,
        template: r#"{{#ctx}}{{v}}{{/ctx}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"ctx"#, r#"function(o){return o.fn({v:'new'})}"#)],
        expected: r#"new"#,
    },
    Case {
        name: r#"block helper data frame"#,
        template: r#"{{#frame}}{{@custom}}{{/frame}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(
            r#"frame"#,
            r#"function(o){var d=Handlebars.createFrame(o.data);d.custom='C';return o.fn(this,{data:d})}"#,
        )],
        expected: r#"C"#,
    },
    Case {
        name: r#"block helper block params"#,
        template: r#"{{#bp as |a b|}}{{a}}-{{b}}{{/bp}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"bp"#, r#"function(o){return o.fn(this,{blockParams:['x','y']})}"#)],
        expected: r#"x-y"#,
    },
    Case {
        name: r#"block helper hash"#,
        template: r#"{{#wrap tag="p"}}body{{/wrap}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"wrap"#, r#"function(o){return '<'+o.hash.tag+'>'+o.fn(this)+'</'+o.hash.tag+'>'}"#)],
        expected: r#"<p>body</p>"#,
    },
    Case {
        name: r#"list helper"#,
        template: r#"{{#list people}}{{name}}{{/list}}"#,
        data: r#"{"people": [{"name": "a"}, {"name": "b"}]}"#,
        partials: &[],
        helpers: &[(
            r#"list"#,
            r#"function(items,o){var out='<ul>';for(var i=0;i<items.length;i++){out+='<li>'+o.fn(items[i])+'</li>'}return out+'</ul>'}"#,
        )],
        expected: r#"<ul><li>a</li><li>b</li></ul>"#,
    },
    Case {
        name: r#"helper returning number 0"#,
        template: r#"[{{zero}}]"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"zero"#, r#"function(){return 0}"#)],
        expected: r#"[0]"#,
    },
    Case {
        name: r#"helper returning null"#,
        template: r#"[{{nil}}]"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"nil"#, r#"function(){return null}"#)],
        expected: r#"[]"#,
    },
    Case {
        name: r#"escapeExpression util"#,
        template: r#"{{esc s}}"#,
        data: r#"{"s": "<&>"}"#,
        partials: &[],
        helpers: &[(
            r#"esc"#,
            r#"function(s){return new Handlebars.SafeString(Handlebars.Utils.escapeExpression(s))}"#,
        )],
        expected: r#"&lt;&amp;&gt;"#,
    },
    Case {
        name: r#"custom helper overrides if"#,
        template: r#"{{#if 1}}a{{/if}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"if"#, r#"function(c,o){return 'custom'}"#)],
        expected: r#"custom"#,
    },
    Case {
        name: r#"helper gets undefined for missing"#,
        template: r#"{{t nope}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"t"#, r#"function(v){return typeof v}"#)],
        expected: r#"undefined"#,
    },
    Case {
        name: r#"helper array param"#,
        template: r#"{{join xs}}"#,
        data: r#"{"xs": [1, 2, 3]}"#,
        partials: &[],
        helpers: &[(r#"join"#, r#"function(a){return a.join('-')}"#)],
        expected: r#"1-2-3"#,
    },
    Case {
        name: r#"block helper with non-block call"#,
        template: r#"{{#if a}}{{upper b}}{{/if}}"#,
        data: r#"{"a": 1, "b": "x"}"#,
        partials: &[],
        helpers: &[(r#"upper"#, r#"function(s){return s.toUpperCase()}"#)],
        expected: r#"X"#,
    },
    Case {
        name: r#"subexpression"#,
        template: r#"{{upper (concat a b)}}"#,
        data: r#"{"a": "x", "b": "y"}"#,
        partials: &[],
        helpers: &[
            (r#"upper"#, r#"function(s){return s.toUpperCase()}"#),
            (r#"concat"#, r#"function(a,b){return a+b}"#),
        ],
        expected: r#"XY"#,
    },
    Case {
        name: r#"nested subexpressions"#,
        template: r#"{{add (add 1 2) (add 3 4)}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"add"#, r#"function(a,b){return a+b}"#)],
        expected: r#"10"#,
    },
    Case {
        name: r#"subexpression in hash"#,
        template: r#"{{show v=(add 1 1)}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"add"#, r#"function(a,b){return a+b}"#), (r#"show"#, r#"function(o){return o.hash.v}"#)],
        expected: r#"2"#,
    },
    Case {
        name: r#"subexpression in if"#,
        template: r#"{{#if (eq a b)}}same{{else}}diff{{/if}}"#,
        data: r#"{"a": 1, "b": 1}"#,
        partials: &[],
        helpers: &[(r#"eq"#, r#"function(a,b){return a===b}"#)],
        expected: r#"same"#,
    },
    Case {
        name: r#"tilde both"#,
        template: r#"a  {{~name~}}  b"#,
        data: r#"{"name": "N"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"aNb"#,
    },
    Case {
        name: r#"tilde left"#,
        template: r#"a  {{~name}}  b"#,
        data: r#"{"name": "N"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"aN  b"#,
    },
    Case {
        name: r#"tilde newlines"#,
        template: r#"x

{{~name~}}

y"#,
        data: r#"{"name": "N"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"xNy"#,
    },
    Case {
        name: r#"tilde each"#,
        template: r#"{{#each xs~}}
  {{this}}
{{~/each}}"#,
        data: r#"{"xs": [1, 2]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"12"#,
    },
    Case {
        name: r#"tilde else"#,
        template: r#"{{#if a~}} A {{~else~}} B {{~/if}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[],
        expected: r#"B"#,
    },
    Case {
        name: r#"tilde raw"#,
        template: r#"a {{~{s}~}} b"#,
        data: r#"{"s": "<x>"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"a<x>b"#,
    },
    Case {
        name: r#"standalone block"#,
        template: r#"<ul>
  {{#each xs}}
  <li>{{this}}</li>
  {{/each}}
</ul>
"#,
        data: r#"{"xs": ["a", "b"]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"<ul>
  <li>a</li>
  <li>b</li>
</ul>
"#,
    },
    Case {
        name: r#"standalone if else"#,
        template: r#"a
{{#if x}}
yes
{{else}}
no
{{/if}}
b"#,
        data: r#"{"x": false}"#,
        partials: &[],
        helpers: &[],
        expected: r#"a
no
b"#,
    },
    Case {
        name: r#"non-standalone inline"#,
        template: r#"a {{#if x}}y{{/if}} b
"#,
        data: r#"{"x": true}"#,
        partials: &[],
        helpers: &[],
        expected: r#"a y b
"#,
    },
    Case {
        name: r#"standalone with crlf"#,
        template: r#"a
{{#if x}}
yes
{{/if}}
b"#,
        data: r#"{"x": true}"#,
        partials: &[],
        helpers: &[],
        expected: r#"a
yes
b"#,
    },
    Case {
        name: r#"partial"#,
        template: r#"[{{> p}}]"#,
        data: r#"{"name": "n"}"#,
        partials: &[(r#"p"#, r#"P:{{name}}"#)],
        helpers: &[],
        expected: r#"[P:n]"#,
    },
    Case {
        name: r#"partial with context"#,
        template: r#"{{> person author}}"#,
        data: r#"{"author": {"name": "A"}}"#,
        partials: &[(r#"person"#, r#"<{{name}}>"#)],
        helpers: &[],
        expected: r#"<A>"#,
    },
    Case {
        name: r#"partial with hash"#,
        template: r#"{{> greet greeting="Hi"}}"#,
        data: r#"{"name": "Z"}"#,
        partials: &[(r#"greet"#, r#"{{greeting}}, {{name}}"#)],
        helpers: &[],
        expected: r#"Hi, Z"#,
    },
    Case {
        name: r#"partial with context and hash"#,
        template: r#"{{> p obj x=1}}"#,
        data: r#"{"obj": {"y": 2}}"#,
        partials: &[(r#"p"#, r#"{{x}}{{y}}"#)],
        helpers: &[],
        expected: r#"12"#,
    },
    Case {
        name: r#"partial in each"#,
        template: r#"{{#each xs}}{{> item}}{{/each}}"#,
        data: r#"{"xs": [{"n": 1}, {"n": 2}]}"#,
        partials: &[(r#"item"#, r#"({{n}})"#)],
        helpers: &[],
        expected: r#"(1)(2)"#,
    },
    Case {
        name: r#"partial @index"#,
        template: r#"{{#each xs}}{{> item}}{{/each}}"#,
        data: r#"{"xs": ["a", "b"]}"#,
        partials: &[(r#"item"#, r#"{{@index}}{{this}} "#)],
        helpers: &[],
        expected: r#"0a 1b "#,
    },
    Case {
        name: r#"standalone partial indent"#,
        template: r#"<div>
  {{> lines}}
</div>"#,
        data: r#"{}"#,
        partials: &[(
            r#"lines"#,
            r#"one
two
"#,
        )],
        helpers: &[],
        expected: r#"<div>
  one
  two
</div>"#,
    },
    Case {
        name: r#"partial indent with content"#,
        template: r#"x
  {{> p}}
y"#,
        data: r#"{"c": "l1\nl2"}"#,
        partials: &[(
            r#"p"#,
            r#"<{{c}}>
"#,
        )],
        helpers: &[],
        expected: r#"x
  <l1
  l2>
y"#,
    },
    Case {
        name: r#"recursive partial tree"#,
        template: r#"{{> node}}"#,
        data: r#"{"name": "root", "kids": [{"name": "a", "kids": []}, {"name": "b", "kids": [{"name": "c", "kids": []}]}]}"#,
        partials: &[(r#"node"#, r#"{{name}}({{#each kids}}{{> node}}{{/each}})"#)],
        helpers: &[],
        expected: r#"root(a()b(c()))"#,
    },
    Case {
        name: r#"dynamic partial"#,
        template: r#"{{> (which) }}"#,
        data: r#"{}"#,
        partials: &[(r#"pa"#, r#"A"#), (r#"pb"#, r#"B"#)],
        helpers: &[(r#"which"#, r#"function(){return 'pb'}"#)],
        expected: r#"B"#,
    },
    Case {
        name: r#"dynamic partial lookup"#,
        template: r#"{{> (lookup . 'tpl') }}"#,
        data: r#"{"tpl": "pa"}"#,
        partials: &[(r#"pa"#, r#"from-lookup"#)],
        helpers: &[],
        expected: r#"from-lookup"#,
    },
    Case {
        name: r#"partial block fallback"#,
        template: r#"{{#> missing}}fallback {{x}}{{/missing}}"#,
        data: r#"{"x": 1}"#,
        partials: &[],
        helpers: &[],
        expected: r#"fallback 1"#,
    },
    Case {
        name: r#"partial block existing"#,
        template: r#"{{#> layout}}content{{/layout}}"#,
        data: r#"{}"#,
        partials: &[(r#"layout"#, r#"<main>{{> @partial-block}}</main>"#)],
        helpers: &[],
        expected: r#"<main>content</main>"#,
    },
    Case {
        name: r#"partial block context"#,
        template: r#"{{#> layout}}{{title}}{{/layout}}"#,
        data: r#"{"title": "T"}"#,
        partials: &[(r#"layout"#, r#"[{{> @partial-block}}]"#)],
        helpers: &[],
        expected: r#"[T]"#,
    },
    Case {
        name: r#"inline partial"#,
        template: r#"{{#*inline "myp"}}inline {{x}}{{/inline}}{{> myp}}"#,
        data: r#"{"x": 1}"#,
        partials: &[],
        helpers: &[],
        expected: r#"inline 1"#,
    },
    Case {
        name: r#"inline partial overrides layout blocks"#,
        template: r#"{{#> layout}}{{#*inline "content"}}My Content{{/inline}}{{/layout}}"#,
        data: r#"{}"#,
        partials: &[(r#"layout"#, r#"<body>{{> content}}</body>"#)],
        helpers: &[],
        expected: r#"<body>My Content</body>"#,
    },
    Case {
        name: r#"inline partial with default"#,
        template: r#"{{#> layout}}{{/layout}}"#,
        data: r#"{}"#,
        partials: &[(r#"layout"#, r#"<b>{{#> content}}default{{/content}}</b>"#)],
        helpers: &[],
        expected: r#"<b>default</b>"#,
    },
    Case {
        name: r#"partial string name"#,
        template: r#"{{> "my-partial"}}"#,
        data: r#"{}"#,
        partials: &[(r#"my-partial"#, r#"dash"#)],
        helpers: &[],
        expected: r#"dash"#,
    },
    Case {
        name: r#"partial path name"#,
        template: r#"{{> shared/header}}"#,
        data: r#"{}"#,
        partials: &[(r#"shared/header"#, r#"H"#)],
        helpers: &[],
        expected: r#"H"#,
    },
    Case {
        name: r#"partial inherits data"#,
        template: r#"{{#each xs}}{{> p}}{{/each}}"#,
        data: r#"{"xs": [1, 2]}"#,
        partials: &[(r#"p"#, r#"{{@first}}-{{@root.t}};"#)],
        helpers: &[],
        expected: r#"true-;false-;"#,
    },
    Case {
        name: r#"partial standalone in each"#,
        template: r#"{{#each xs}}
  {{> li}}
{{/each}}
"#,
        data: r#"{"xs": [1, 2]}"#,
        partials: &[(
            r#"li"#,
            r#"<li>{{this}}</li>
"#,
        )],
        helpers: &[],
        expected: r#"  <li>1</li>
  <li>2</li>
"#,
    },
    Case {
        name: r#"raw block"#,
        template: r#"{{{{raw}}}}{{not parsed}}{{{{/raw}}}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"raw"#, r#"function(o){return o.fn()}"#)],
        expected: r#"{{not parsed}}"#,
    },
    Case {
        name: r#"raw block nested"#,
        template: r#"{{{{raw}}}}a{{{{x}}}}b{{{{/x}}}}c{{{{/raw}}}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"raw"#, r#"function(o){return o.fn()}"#)],
        expected: r#"a{{{{x}}}}b{{{{/x}}}}c"#,
    },
    Case {
        name: r#"@root in with"#,
        template: r#"{{#with a}}{{@root.b}}{{/with}}"#,
        data: r#"{"a": {}, "b": "root-b"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"root-b"#,
    },
    Case {
        name: r#"../ beyond root"#,
        template: r#"[{{../x}}]"#,
        data: r#"{"x": 1}"#,
        partials: &[],
        helpers: &[],
        expected: r#"[]"#,
    },
    Case {
        name: r#"data @index in nested if"#,
        template: r#"{{#each xs}}{{#if this}}{{@index}}{{/if}}{{/each}}"#,
        data: r#"{"xs": [1, 0, 1]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"02"#,
    },
    Case {
        name: r#"each over string chars not iterated"#,
        template: r#"{{#each s}}x{{else}}no{{/each}}"#,
        data: r#"{"s": "abc"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"no"#,
    },
    Case {
        name: r#"hash literal types"#,
        template: r#"{{t a=1 b="s" c=true d=null}}"#,
        data: r#"{}"#,
        partials: &[],
        helpers: &[(r#"t"#, r#"function(o){return JSON.stringify(o.hash)}"#)],
        expected: r#"{&quot;d&quot;:null,&quot;c&quot;:true,&quot;b&quot;:&quot;s&quot;,&quot;a&quot;:1}"#,
    },
    Case {
        name: r#"helper missing with param errors? no: simple mustache value"#,
        template: r#"{{title}}"#,
        data: r#"{"title": "Plain"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"Plain"#,
    },
    Case {
        name: r#"block on value object"#,
        template: r#"{{#person}}{{name}}{{/person}}"#,
        data: r#"{"person": {"name": "P"}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"P"#,
    },
    Case {
        name: r#"block on value array"#,
        template: r#"{{#xs}}{{this}}{{/xs}}"#,
        data: r#"{"xs": [1, 2, 3]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"123"#,
    },
    Case {
        name: r#"block on value true"#,
        template: r#"{{#t}}yes{{/t}}"#,
        data: r#"{"t": true}"#,
        partials: &[],
        helpers: &[],
        expected: r#"yes"#,
    },
    Case {
        name: r#"block on value string"#,
        template: r#"{{#s}}{{this}}{{/s}}"#,
        data: r#"{"s": "str"}"#,
        partials: &[],
        helpers: &[],
        expected: r#"str"#,
    },
    Case {
        name: r#"block on value nested path"#,
        template: r#"{{#a.b}}{{c}}{{/a.b}}"#,
        data: r#"{"a": {"b": {"c": "C"}}}"#,
        partials: &[],
        helpers: &[],
        expected: r#"C"#,
    },
    Case {
        name: r#"html page"#,
        template: r#"<!DOCTYPE html>
<html>
<head><title>{{title}}</title></head>
<body>
  {{#if items}}
  <ul>
    {{#each items}}
    <li class="{{#if @first}}first{{/if}}">{{name}}: {{price}}</li>
    {{/each}}
  </ul>
  {{else}}
  <p>No items</p>
  {{/if}}
</body>
</html>
"#,
        data: r#"{"title": "Shop & Co", "items": [{"name": "A<1>", "price": 3}, {"name": "B", "price": 4}]}"#,
        partials: &[],
        helpers: &[],
        expected: r#"<!DOCTYPE html>
<html>
<head><title>Shop &amp; Co</title></head>
<body>
  <ul>
    <li class="first">A&lt;1&gt;: 3</li>
    <li class="">B: 4</li>
  </ul>
</body>
</html>
"#,
    },
];

fn run(case: &Case) -> Result<(), String> {
    let mut t = Templates::new(sandvm::Limits::default()).map_err(|e| format!("setup: {e}"))?;
    for (name, src) in case.helpers {
        t.register_helper_js(name, src).map_err(|e| format!("helper {name}: {e}"))?;
    }
    for (name, src) in case.partials {
        t.register_partial(name, src).map_err(|e| format!("partial {name}: {e}"))?;
    }
    t.register_template("t", case.template).map_err(|e| format!("parse: {e}"))?;
    let data: Value = serde_json::from_str(case.data).map_err(|e| format!("data: {e}"))?;
    let got = t.render("t", &data).map_err(|e| format!("render: {e}"))?;
    if got == case.expected {
        Ok(())
    } else {
        Err(format!("expected {:?}, got {got:?}", case.expected))
    }
}

#[test]
fn handlebars_behaviour_suite() {
    assert!(CASES.len() >= 100, "the suite has {} cases", CASES.len());
    let failures: Vec<String> = CASES.iter().filter_map(|c| run(c).err().map(|e| format!("{}: {e}", c.name))).collect();
    eprintln!("handlebars suite: {}/{} passed", CASES.len() - failures.len(), CASES.len());
    assert!(
        failures.is_empty(),
        "{} of {} handlebars cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}
