import { readdirSync } from 'node:fs';
import path from 'node:path';
import { MOBILENET, SHARED, describeWithShared, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/models.js';

const CAT = path.join(SHARED, 'images/cat.jpg');

describeWithShared('the real ImageNet MobileNet', MOBILENET)('the real ImageNet MobileNet (../shared)', () => {
  test('layers lists 88 layers and the [-1, 1] input range', async () => {
    const r = await runCli(['layers', '-m', MOBILENET, '--json']);
    expect(r.code).toBe(0);
    const layers = JSON.parse(r.stdout.toString());
    expect(layers).toHaveLength(88);
    expect(layers[1]).toMatchObject({ name: 'conv1', className: 'Conv2D', outputShape: [null, 112, 112, 8] });
    const table = await runCli(['layers', '-m', MOBILENET]);
    expect(table.stdout.toString()).toMatch(/range \[-1, 1\]/);
  });

  test('activations --layer all writes one PNG per layer and the top-5 finds a cat', async () => {
    const out = path.join(tempDir(), 'out');
    const r = await runCli(['activations', CAT, '-m', MOBILENET, '--layer', 'all', '-o', `${out}/`, '--verbose']);
    expect(r.code).toBe(0);
    const files = readdirSync(out).sort();
    expect(files).toHaveLength(88);
    expect(files[0]).toBe('000_input_1.png');
    expect(files[87]).toBe('087_reshape_2.png');
    // All layers came from one pass: the verbose log reports a single forward pass for 88 layers.
    expect(r.stderr).toMatch(/forward pass, grids \(\d+ Mpx\) and PNGs: \d+ ms for 88 layer\(s\)/);
    const top5 = r.stderr.split('\n').find((l) => l.startsWith('top-5:'))!;
    expect(top5).toMatch(/tabby|tiger cat|Egyptian cat/);
  });
});
