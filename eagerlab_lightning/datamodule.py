"""LightningDataModule: the data of a fit in one object (prepare_data, setup(stage), the dataloaders)."""


class LightningDataModule:
    def prepare_data(self):
        pass

    def setup(self, stage):
        pass

    def teardown(self, stage):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass
