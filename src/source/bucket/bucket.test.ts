import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signV4, uriEncode } from './s3.ts';
import { indexRevision, keyPath } from './reconcile.ts';

test("SigV4: the example of AWS's S3 documentation (GET object with a Range header)", () => {
  const auth = signV4({
    method: 'GET',
    path: '/test.txt',
    query: {},
    headers: {
      host: 'examplebucket.s3.amazonaws.com',
      range: 'bytes=0-9',
      'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'x-amz-date': '20130524T000000Z',
    },
    payloadHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    accessKey: 'AKIAIOSFODNN7EXAMPLE',
    secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    region: 'us-east-1',
    amzDate: '20130524T000000Z',
  });
  assert.equal(
    auth,
    'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  );
});

test('URI encoding as SigV4 wants it', () => {
  assert.equal(uriEncode('a b+c/d~e'), 'a%20b%2Bc%2Fd~e');
  assert.equal(uriEncode('/dir/a b.yaml', true), '/dir/a%20b.yaml');
  assert.equal(uriEncode('é'), '%C3%A9');
});

test('the revision is the sha256 of the sorted "key etag" lines: order-free, any change moves it', () => {
  const a = indexRevision(new Map([['b.yaml', 'e2'], ['a.yaml', 'e1']]));
  assert.equal(a, indexRevision(new Map([['a.yaml', 'e1'], ['b.yaml', 'e2']])));
  assert.notEqual(a, indexRevision(new Map([['a.yaml', 'e1'], ['b.yaml', 'e3']])));
  assert.match(a, /^sha256:[0-9a-f]{64}$/);
});

test('object keys: directory markers skipped, keys leaving the artifact refused', () => {
  assert.equal(keyPath('apps/cm.yaml'), 'apps/cm.yaml');
  assert.equal(keyPath('apps/'), undefined);
  for (const bad of ['../escape.yaml', 'apps/../../x', '/abs.yaml', 'a/./b']) assert.throws(() => keyPath(bad), /outside the artifact/);
});
