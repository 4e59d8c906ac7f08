import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conciseFsError, gitFailure } from './failure.ts';

// A full artifact store must say so and where (issue 20: the message was a
// bare "write ENOSPC").

const fsError = (code: string, syscall: string, path?: string) => Object.assign(new Error(`${code}: ${syscall}`), { code, syscall, path });

test('ENOSPC names the cause and the storage', () => {
  assert.equal(conciseFsError(fsError('ENOSPC', 'write')), "no space left on device in the controller's storage (--storage-path) (write ENOSPC)");
  assert.match(conciseFsError(fsError('ENOSPC', 'open', '/data/storage/gitrepository/ns/app/tree/x.yaml')), /writing 'app\/tree\/x\.yaml' \(open ENOSPC\)/);
  assert.match(gitFailure(fsError('EDQUOT', 'write')).message, /^failed to checkout and determine revision: disk quota exceeded in the controller's storage/);
});

test('other file system errors stay short', () => {
  assert.equal(conciseFsError(fsError('EACCES', 'open', '/a/b/c/d')), "open EACCES 'b/c/d'");
});
