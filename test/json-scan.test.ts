// The streaming reader of large JSON documents (state files): it must accept exactly what JSON.parse
// accepts, however the bytes are split into chunks, and extract the same facts as parsing it whole.
import assert from 'node:assert/strict';
import { JsonScan } from '../src/state/scan.js';
import { MAX_OUTPUT_BYTES, parseState, StateReader, withSerial } from '../src/state/statefile.js';

/** Feeds the bytes in chunks of `size` bytes. */
function scanIn(bytes: Buffer, size: number, scan: { write(chunk: Buffer): void }): void {
  for (let i = 0; i < bytes.length; i += size) scan.write(bytes.subarray(i, i + size));
}

function verdict(text: string | Buffer, size: number): string {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  try {
    const scan = new JsonScan('the document');
    scanIn(bytes, size, scan);
    scan.end();
    return 'object';
  } catch (err) {
    const detail = (err as Error).message;
    if (/must be a JSON object/.test(detail)) return 'json';
    if (/not valid JSON|nested|not valid UTF-8/.test(detail)) return 'rejected';
    throw err;
  }
}

function expected(text: string | Buffer): string {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? 'object' : 'json';
  } catch {
    return 'rejected';
  }
}

const DOCUMENTS: Array<string | Buffer> = [
  '{}',
  ' { } ',
  '{"a":1}',
  '{"a":[1,2,{"b":null}],"c":"d"}',
  '{"a":-0.5e+10,"b":0,"c":1E3,"d":true,"e":false}',
  '{"s":"tab\\t quote\\" slash\\/ back\\\\ u\\u00e9 \\uD83D\\uDE00"}',
  '{"é":"ünïcødé 😀 中文"}',
  '{"a":{"b":{"c":{"d":[[[[]]]]}}}}',
  '[1,2]',
  '"a string"',
  '42',
  'null',
  '',
  '   ',
  'not json at all',
  '{',
  '{"a"}',
  '{"a":}',
  '{"a":1,}',
  '{"a":1 "b":2}',
  '[1,]',
  '{a:1}',
  "{'a':1}",
  '{"a":01}',
  '{"a":1.}',
  '{"a":.5}',
  '{"a":-}',
  '{"a":1e}',
  '{"a":+1}',
  '{"a":tru}',
  '{"a":truex}',
  '{"a":nul}',
  '{"a":"\\x"}',
  '{"a":"\\u12G4"}',
  '{"a":"line\nbreak"}',
  '{"a":1}}',
  '{"a":1} {}',
  '{"a":1}x',
  '{"a":[}',
  '{"a":{]}',
  '\ufeff{}',
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]),
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe2, 0x82, 0x22, 0x7d]),
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]),
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
  Buffer.from([0x7b, 0x7d, 0xe2, 0x82]),
];

describe('streaming JSON scan', () => {
  it('accepts and rejects exactly what JSON.parse does, however the bytes are split', () => {
    for (const doc of DOCUMENTS) {
      const want = expected(doc);
      for (const size of [1, 2, 3, 5, 1024]) {
        assert.equal(verdict(doc, size), want, `${JSON.stringify(doc.toString())} in chunks of ${size}`);
      }
    }
  });

  it('agrees with JSON.parse on thousands of damaged documents', () => {
    const base = '{"a": [1, -2.5e3, true, false, null], "b": {"c": "d\\n\\u00e9é"}, "e": []}';
    const alphabet = '{}[],:"\\ -+.eE0123456789tfnrulasé\n';
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 3000; round++) {
      let doc = base;
      for (let edits = 1 + random(3); edits > 0; edits--) {
        const at = random(doc.length);
        const op = random(3);
        const c = alphabet[random(alphabet.length)];
        doc = op === 0 ? doc.slice(0, at) + doc.slice(at + 1) : op === 1 ? doc.slice(0, at) + c + doc.slice(at) : doc.slice(0, at) + c + doc.slice(at + 1);
      }
      assert.equal(verdict(doc, 1 + random(8)), expected(doc), JSON.stringify(doc));
    }
  });

  it('keeps chosen top-level members, hands over array elements one by one and knows where every member lies', () => {
    const text = '{ "keep": {"x": [1, "two"]}, "skip": "ignored", "items": [ {"n": 1}, "é", 3 , [] ], "last": -1.5e2 }';
    for (const size of [1, 4, 7, 4096]) {
      const elements: Array<[string, number]> = [];
      const scan = new JsonScan('the document', {
        keep: new Set(['keep', 'last']),
        elementsOf: 'items',
        onElement: (raw, index) => elements.push([raw.toString('utf8'), index]),
      });
      scanIn(Buffer.from(text), size, scan);
      scan.end();
      assert.deepEqual(Object.fromEntries(scan.values), { keep: { x: [1, 'two'] }, last: -150 }, `chunks of ${size}`);
      assert.deepEqual(elements, [['{"n": 1}', 0], ['"é"', 1], ['3', 2], ['[]', 3]], `chunks of ${size}`);
      const bytes = Buffer.from(text);
      const member = (name: string) => {
        const span = scan.members.get(name)!;
        return bytes.toString('utf8', span.start, span.end);
      };
      assert.deepEqual([member('keep'), member('skip'), member('items'), member('last')], ['{"x": [1, "two"]}', '"ignored"', '[ {"n": 1}, "é", 3 , [] ]', '-1.5e2']);
    }
  });

  it('says so when a string is not UTF-8, also when a character is split between chunks', () => {
    const bytes = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xe2, 0x82, 0x28]), Buffer.from('"}')]);
    for (const size of [1, 2, 7, 100]) {
      assert.throws(() => {
        const scan = new JsonScan('the state file');
        scanIn(bytes, size, scan);
        scan.end();
      }, /the state file is not valid UTF-8 text/);
    }
  });

  it('says where the document goes wrong', () => {
    const scan = new JsonScan('the state file');
    assert.throws(
      () => scan.write(Buffer.from('{"a": [1, 2 3]}')),
      (err: Error) => /the state file is not valid JSON: expected "," or "\]" at byte 12, found "3"/.test(err.message),
    );
    const cut = new JsonScan('the state file');
    cut.write(Buffer.from('{"a": [1, 2'));
    assert.throws(() => cut.end(), /the state file is not valid JSON: it ends unexpectedly after 11 bytes/);
  });

  it('refuses documents nested deeper than 1000 levels', () => {
    const deep = '{"a":' + '['.repeat(1000) + ']'.repeat(1000) + '}';
    assert.throws(() => new JsonScan('the state file').write(Buffer.from(deep)), /nested more than 1000 levels deep/);
  });
});

describe('state file reading', () => {
  const state = {
    version: 4,
    terraform_version: '1.11.4',
    serial: 7,
    lineage: 'abc',
    outputs: { b: { value: 'x', type: 'string' }, a: { value: [1], type: ['list', 'number'], sensitive: true } },
    resources: [
      { mode: 'managed', type: 'terraform_data', name: 'one', provider: 'provider["terraform.io/builtin/terraform"]', instances: [{ index_key: 0 }, { index_key: 'k', attributes: { a: 1 } }] },
      { module: 'module.net', mode: 'data', type: 'terraform_remote_state', name: 'other', provider: 'p', instances: [{}] },
    ],
    check_results: null,
  };

  it('reads the same state whether it comes whole or in small chunks', () => {
    const bytes = Buffer.from(JSON.stringify(state, null, 2));
    const whole = parseState(bytes);
    // Each instance's MD5 is of its bytes as the file has them: read in chunks, the same (below).
    assert.ok(whole.instances.every((i) => /^[0-9a-f]{32}$/.test(i.md5)) && whole.instances[0].md5 !== whole.instances[1].md5);
    assert.deepEqual({ ...whole, instances: whole.instances.map(({ md5: _, ...rest }) => rest) }, {
      formatVersion: 4,
      serial: 7,
      lineage: 'abc',
      terraformVersion: '1.11.4',
      outputs: [
        { name: 'a', value: [1], type: ['list', 'number'], sensitive: true },
        { name: 'b', value: 'x', type: 'string', sensitive: false },
      ],
      resources: [
        { name: 'one', type: 'terraform_data', module: 'root', provider: 'provider["terraform.io/builtin/terraform"]', count: 2 },
        { name: 'other', type: 'data.terraform_remote_state', module: 'module.net', provider: 'p', count: 1 },
      ],
      managedInstances: 2,
      // Managed resources' instances only: data sources are no resources of the workspace.
      instances: [
        { address: 'terraform_data.one[0]', name: 'one', module: 'root', provider: 'terraform.io/builtin/terraform', type: 'terraform_data', nameIndex: '0' },
        { address: 'terraform_data.one["k"]', name: 'one', module: 'root', provider: 'terraform.io/builtin/terraform', type: 'terraform_data', nameIndex: 'k' },
      ],
    });
    const reader = new StateReader();
    scanIn(bytes, 3, reader);
    assert.deepEqual(reader.end(), whole);
  });

  it('names what is wrong with a state file', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ ...state, version: 3 }, /format version 3; only version 4/],
      [{ ...state, serial: -1 }, /"serial" must be a whole number of at least 0, got -1/],
      [{ ...state, lineage: 5 }, /"lineage" must be a string, got 5/],
      [{ ...state, resources: {} }, /"resources" must be an array/],
      [{ ...state, resources: [{ mode: 'managed' }] }, /resource 0 in the state file must be an object with a "mode", a "type" and a "name"/],
      [{ ...state, outputs: { x: { type: 'string' } } }, /output "x" in the state file must be an object with a "value"/],
    ];
    for (const [doc, message] of cases) assert.throws(() => parseState(Buffer.from(JSON.stringify(doc))), message);
    assert.deepEqual(parseState(Buffer.from(JSON.stringify({ ...state, resources: null }))).resources, []);
  });

  it('lists an output larger than the bound as sensitive with no value, and reads a huge resource without holding it', () => {
    const big = 'x'.repeat(MAX_OUTPUT_BYTES + 1);
    const doc = {
      ...state,
      outputs: { ...state.outputs, huge: { value: big, type: 'string' } },
      resources: [{ mode: 'managed', type: 'terraform_data', name: 'fat', provider: 'p', instances: [{ attributes: { input: big } }, {}, {}] }],
    };
    const bytes = Buffer.from(JSON.stringify(doc));
    for (const size of [bytes.length, 65_536, 4093]) {
      const reader = new StateReader();
      scanIn(bytes, size, reader);
      const parsed = reader.end();
      assert.deepEqual(
        parsed.outputs.map((o) => [o.name, o.sensitive, o.value === null]),
        [
          ['a', true, false],
          ['b', false, false],
          ['huge', true, true],
        ],
      );
      assert.deepEqual(parsed.resources, [{ name: 'fat', type: 'terraform_data', module: 'root', provider: 'p', count: 3 }]);
      assert.equal(parsed.managedInstances, 3);
    }
    assert.throws(() => parseState(Buffer.from(JSON.stringify({ ...state, resources: [{ mode: 'managed', type: 't', name: 'n', instances: {} }] }))), /"instances" that are not an array/);
    assert.throws(() => parseState(Buffer.from(JSON.stringify({ ...state, resources: ['x'] }))), /resource 0 in the state file must be an object/);
    assert.throws(() => parseState(Buffer.from(JSON.stringify({ ...state, outputs: [] }))), /"outputs" must be an object/);
  });

  it('rewrites the serial and leaves every other byte as it was', () => {
    const text = '{\n  "version": 4,\n  "serial"  :  12 ,\n  "lineage": "l",\n  "resources": [{"x": 1.00000000000000000001}]\n}\n';
    assert.equal(withSerial(Buffer.from(text), 130).toString(), text.replace('12 ,', '130 ,'));
  });
});
