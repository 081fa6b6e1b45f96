"""Random draws: rand, randn, randint, randperm, bernoulli, multinomial, normal_, uniform_."""
