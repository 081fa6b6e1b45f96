"""pytorch/examples' DCGAN training step on MNIST-sized work: 64x64 single-channel images, batch 64, ngf = ndf = 16
(the size its acceptance run uses), the discriminator on real and fake images, then the generator, both Adam."""
import numpy as np

from _timing import per_call_us, try_torch

NZ, NGF, NDF, BATCH = 100, 16, 16, 64


def _generator(nn):
    def up(c_in, c_out):
        return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]

    return nn.Sequential(nn.ConvTranspose2d(NZ, NGF * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(NGF * 8), nn.ReLU(True),
                         *up(NGF * 8, NGF * 4), *up(NGF * 4, NGF * 2), *up(NGF * 2, NGF),
                         nn.ConvTranspose2d(NGF, 1, 4, 2, 1, bias=False), nn.Tanh())


def _discriminator(nn):
    def down(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, inplace=True)]

    return nn.Sequential(nn.Conv2d(1, NDF, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                         *down(NDF, NDF * 2), *down(NDF * 2, NDF * 4), *down(NDF * 4, NDF * 8),
                         nn.Conv2d(NDF * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())


def dcgan_step(lib):
    """One iteration of the example's loop, as a callable."""
    nn = lib.nn
    lib.manual_seed(0)
    G, D, loss_fn = _generator(nn), _discriminator(nn), nn.BCELoss()
    opt_d = lib.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = lib.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = lib.tensor(np.random.default_rng(0).uniform(-1, 1, (BATCH, 1, 64, 64)).astype(np.float32))
    ones, zeros = lib.full((BATCH,), 1.0), lib.full((BATCH,), 0.0)

    def step():
        D.zero_grad()
        loss_fn(D(real).view(-1), ones).backward()
        fake = G(lib.randn(BATCH, NZ, 1, 1))
        loss_fn(D(fake.detach()).view(-1), zeros).backward()
        opt_d.step()
        G.zero_grad()
        loss_fn(D(fake).view(-1), ones).backward()
        opt_g.step()

    return step


def rows():
    import eagerlab

    torch = try_torch()
    ours = per_call_us(dcgan_step(eagerlab), min_time=1.0) / 1e3
    theirs = per_call_us(dcgan_step(torch), min_time=1.0) / 1e3 if torch else None
    return [("DCGAN step (ngf = ndf = 16, 64x64), batch 64", "ms", ours, theirs, "lower")]


if __name__ == "__main__":
    from run import print_table

    print_table(rows())
