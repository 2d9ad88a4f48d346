"""vidqa.questions"""
