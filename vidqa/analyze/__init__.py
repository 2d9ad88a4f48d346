"""vidqa.analyze"""
