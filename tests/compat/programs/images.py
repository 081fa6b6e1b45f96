"""torchvision's datasets/transforms/utils as a DCGAN or VAE example uses them: a transform pipeline on fake
images, and save_image of a batch (normalize=True)."""
import sys

import torch
import torchvision.transforms as transforms
import torchvision.utils as vutils
from torchvision import datasets

transform = transforms.Compose([transforms.Normalize((0.5,), (0.5,))])
batch = transform(torch.rand(6, 1, 8, 8))
vutils.save_image(batch, sys.argv[1], normalize=True, nrow=3)
print(datasets.MNIST.__name__, datasets.FashionMNIST.__name__)
