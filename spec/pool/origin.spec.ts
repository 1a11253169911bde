import { expect } from 'chai';
import { originOf } from 'rx-lifeline';

describe('origin', () => {
  it('lower-cases scheme and host, defaults the port per scheme, ignores the path', () => {
    expect(originOf('WSS://Chat.Example.COM/rooms/7?x=1#y')).to.deep.equal({
      scheme: 'wss',
      host: 'chat.example.com',
      port: 443,
      user: '',
      credentialsId: '',
      key: 'wss://chat.example.com:443',
    });
    expect(originOf('http://example.com').port).to.equal(80);
    expect(originOf('https://example.com:8443').port).to.equal(8443);
    expect(originOf('tcp://Example.com:7070').key).to.equal(
      originOf({ scheme: 'TCP:', host: 'EXAMPLE.com', port: 7070 }).key,
    );
  });

  it('keeps users apart, case and all, and percent-encodes them in the key', () => {
    expect(originOf('tcp://alice@h:1').key).to.equal('tcp://alice@h:1');
    expect(originOf('tcp://Alice@h:1').key).to.not.equal(originOf('tcp://alice@h:1').key);
    expect(originOf('tcp://a%40b@h:1').user).to.equal('a@b');
    expect(originOf({ scheme: 'tcp', host: 'h', port: 1, user: 'a@b' }).key).to.equal('tcp://a%40b@h:1');
  });

  it('keeps credentials apart by the caller’s credentialsId and never puts a password in the key', () => {
    const one = originOf('https://alice:pw1@example.com', { credentialsId: 'key-1' });
    const two = originOf('https://alice:pw2@example.com', { credentialsId: 'key-2' });
    expect(one.key).to.equal('https://alice@example.com:443#key-1');
    expect(one.key).to.not.equal(two.key);
    expect(JSON.stringify(one)).to.not.include('pw1');
    expect(() => originOf('https://alice:pw@example.com')).to.throw(TypeError, /credentialsId/);
  });

  it('brackets IPv6 hosts in the key only', () => {
    const v6 = originOf('tcp://[::1]:7070');
    expect(v6.host).to.equal('::1');
    expect(v6.key).to.equal('tcp://[::1]:7070');
    expect(originOf({ scheme: 'tcp', host: '[::1]', port: 7070 }).key).to.equal(v6.key);
  });

  it('rejects what is not an origin with a TypeError', () => {
    expect(() => originOf('not a url')).to.throw(TypeError, /not a URL/);
    expect(() => originOf('tcp://example.com')).to.throw(TypeError, /no default port/);
    expect(() => originOf({ scheme: 'tcp', host: '', port: 1 })).to.throw(TypeError, /no host/);
    expect(() => originOf({ scheme: 'tcp', host: 'h', port: 70000 })).to.throw(TypeError, /port/);
    expect(() => originOf({ scheme: '1x', host: 'h', port: 1 })).to.throw(TypeError, /scheme/);
    expect(Object.isFrozen(originOf('http://h'))).to.equal(true);
  });
});
