// Real Git servers for tests, on 127.0.0.1 and random ports, plus helpers to
// build repositories. See http.ts (smart HTTP via git http-backend, basic or
// bearer auth, HTTPS), ssh.ts (sshd, key auth), tls.ts (a CA per run) and
// repo.ts (commits, tags, pushes, force-pushes, signed objects).
export { startGitHttpServer, type GitHttpServer, type GitHttpServerOptions, type RequestRecord } from '../../src/dev/gitserver/http.ts';
export { startGitSshServer, type GitSshServer, type SshKeyPair } from './ssh.ts';
export { generateTls, type TlsMaterial } from './tls.ts';
export {
  TestRepo,
  createGpgSigner,
  createSshSigner,
  git,
  testGitEnv,
  type FileContent,
  type GpgSigner,
  type Signer,
  type SshSigner,
} from './repo.ts';
